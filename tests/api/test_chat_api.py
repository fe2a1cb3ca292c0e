"""The chat REST API: history for members, posting for clients without websockets."""

from __future__ import annotations


def _room(api):
    owner = api.token("owner@example.com", "ORGANIZER")
    event_id = api.event(owner, maxParticipants=1)
    member = api.token("member@example.com")
    waiter = api.token("waiter@example.com")
    for headers in (member, waiter):
        api.client.post("/api/v1/enrollments", json={"eventId": event_id}, headers=headers)
    return event_id, owner, member, waiter


def test_members_post_and_page_back_through_history(api):
    c = api.client
    event_id, owner, member, _ = _room(api)
    url = f"/api/v1/chat/events/{event_id}/messages"
    for n in range(5):
        posted = c.post(url, json={"body": f" hello {n} "}, headers=owner if n % 2 else member)
        assert posted.status_code == 201, posted.text
    message = posted.json()["data"]["message"]
    assert (message["seq"], message["body"], message["senderName"]) == (5, "hello 4", "member")
    page = c.get(f"{url}?limit=2", headers=member).json()["data"]["messages"]
    assert [m["seq"] for m in page] == [5, 4]
    older = c.get(f"{url}?limit=10&before=4", headers=owner).json()["data"]["messages"]
    assert [m["seq"] for m in older] == [3, 2, 1]


def test_a_resent_client_message_id_answers_200_with_the_original(api):
    c = api.client
    event_id, _, member, _ = _room(api)
    url = f"/api/v1/chat/events/{event_id}/messages"
    first = c.post(url, json={"body": "once", "clientMsgId": "m-1"}, headers=member)
    again = c.post(url, json={"body": "once", "clientMsgId": "m-1"}, headers=member)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["data"]["message"]["id"] == first.json()["data"]["message"]["id"]


def test_non_members_are_refused_and_invisible_rooms_do_not_exist(api):
    c = api.client
    event_id, owner, _, waiter = _room(api)
    url = f"/api/v1/chat/events/{event_id}/messages"
    refused = c.post(url, json={"body": "let me in"}, headers=waiter)
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "AUTHORIZATION_ERROR")
    assert c.get(url).status_code == 401
    plan = api.event(owner, publish=False, title="Secret")
    hidden = c.get(f"/api/v1/chat/events/{plan}/messages", headers=waiter)
    assert hidden.status_code == 404
    empty = c.post(url, json={"body": "   "}, headers=owner)
    assert (empty.status_code, empty.json()["errors"][0]["field"]) == (400, "body")
