"""`MOV_SMTP_URL`: what each form means, and a clear refusal (never showing the password) of
anything else."""

from __future__ import annotations

import pytest

from mov_adapters.mail.smtp import SmtpMailer, SmtpServer, Tls

FROM = "MOV <no-reply@localhost>"
SECRET = "s3cr3t-pa55"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", SmtpServer("mail.example.org", 25)),
        ("smtp://relay:2525", SmtpServer("relay", 2525)),
        (
            "smtp://user:pass@smtp.example.org:587?starttls=true",
            SmtpServer("smtp.example.org", 587, Tls.STARTTLS, "user", "pass"),
        ),
        (
            "smtps://user:pass@smtp.example.org",
            SmtpServer("smtp.example.org", 465, Tls.IMPLICIT, "user", "pass"),
        ),
        (
            "SMTP://a%40b.org:p%40ss%3Aword@host?starttls=FALSE&timeout=2.5",
            SmtpServer("host", 25, Tls.NONE, "a@b.org", "p@ss:word", 2.5),
        ),
        ("smtp://[::1]:25", SmtpServer("::1", 25)),
    ],
)
def test_urls_name_host_port_tls_credentials_and_timeout(url: str, expected: SmtpServer):
    assert SmtpServer.parse(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://host", "must start with smtp:// or smtps://"),
        ("host:25", "must start with smtp:// or smtps://"),
        ("smtp://", "no host"),
        (f"smtp://user:{SECRET}@:25", "no host"),
        (f"smtp://user:{SECRET}@host:port", "port must be a number"),
        (f"smtp://user:{SECRET}@host:0", "port must be a number"),
        (f"smtp://user:{SECRET}@host:70000", "port must be a number"),
        (f"smtp://user:{SECRET}@host?starttls=yes", "starttls must be true or false"),
        (f"smtps://user:{SECRET}@host?starttls=true", "starttls applies to smtp:// only"),
        (f"smtp://user:{SECRET}@host?timeout=0", "timeout must be"),
        (f"smtp://user:{SECRET}@host?timeout=soon", "timeout must be"),
        (f"smtp://user:{SECRET}@host?timeout=nan", "timeout must be"),
        (f"smtp://user:{SECRET}@host?tls=true", "unknown SMTP URL option 'tls'"),
        (f"smtp://user:{SECRET}@host?timeout=1&timeout=2", "given twice"),
        (f"smtp://:{SECRET}@host", "password but no user name"),
    ],
)
def test_bad_urls_are_refused_clearly_and_discreetly(url: str, message: str):
    with pytest.raises(ValueError, match=message) as error:
        SmtpMailer(url, from_address=FROM)

    assert SECRET not in str(error.value)


def test_the_password_is_not_in_the_repr():
    mailer = SmtpMailer(f"smtps://user:{SECRET}@host", from_address=FROM)

    assert SECRET not in repr(mailer)
    assert SECRET not in repr(mailer.server)


def test_a_sender_that_is_not_an_address_is_refused():
    with pytest.raises(ValueError, match="not a sender address"):
        SmtpMailer("smtp://host", from_address="no-reply")
