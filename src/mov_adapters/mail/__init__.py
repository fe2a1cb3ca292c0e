"""E-mail adapters: SMTP and `.eml`-file mailers, message templates and `.ics` invitations."""
