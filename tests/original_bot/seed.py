"""Fills a table and a bucket with what the original Python bot leaves there.

usage: seed.py <table> <bucket> <scenario> [user_id]
  all     users 1001 (two sessions, the second active, and an archive), 1002 (one session of 500
          messages) and 1003 (only an imported archive), and the offset row (next offset 5001)
  small   user <user_id> shaped like 1001

Each write below is the one the original's `handler.py` (Man2Dev/cloud-Ai at d4609ba) makes for
the same step, through boto3 as it does: the same items, attributes and types (numbers as
DynamoDB numbers, `is_active` 1 or 0, the whole conversation in the session item, put back whole
after each message), the same archive objects (`json.dumps(..., indent=2, default=str)` of items
read back through boto3, so their `Decimal` numbers become strings), metadata and offset row.
Ids, clocks and archive times are deterministic, so two runs write the same things. Prints what
each user should see, as JSON.
"""

import datetime
import json
import random
import sys
import uuid

import boto3
from boto3.dynamodb.conditions import Key

table_name, bucket, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
table = boto3.resource("dynamodb").Table(table_name)
s3 = boto3.client("s3")

_clock = [1_700_000_000]
_rng = random.Random(scenario + (sys.argv[4] if len(sys.argv) > 4 else ""))
# The original's `datetime.utcnow().isoformat() + 'Z'`, at a fixed time.
UTC_NOW = datetime.datetime(2024, 1, 15, 10, 30, 0, 123456).isoformat() + "Z"
PLACEHOLDER = (
    "AI is not yet implemented. Your message has been saved to the conversation history for testing."
)


def now():
    """`int(time.time())`, one second later at each call."""
    _clock[0] += 1
    return _clock[0]


def new_id():
    return str(uuid.UUID(int=_rng.getrandbits(128), version=4))


def user_items(user_id):
    return table.query(KeyConditionExpression=Key("pk").eq(user_id)).get("Items", [])


def sessions(user_id):
    return [it for it in user_items(user_id) if it["sk"].startswith("MODEL#")]


def active_session(user_id):
    return next((it for it in user_items(user_id) if it.get("is_active", 0) == 1), None)


def create_session(user_id, model_name="llama3"):
    """`/newsession` (and the first message or `/start` with none active)."""
    session_id = new_id()
    sk = f"MODEL#{model_name}#SESSION#{session_id}"
    item = {
        "pk": user_id,
        "sk": sk,
        "model_name": model_name,
        "session_id": session_id,
        "is_active": 1,
        "last_message_ts": now(),
        "conversation": [],
        "user_id": user_id,
        "s3_path": "",
    }
    for it in user_items(user_id):
        if it.get("is_active", 0) == 1 and it["sk"] != sk:
            table.update_item(
                Key={"pk": user_id, "sk": it["sk"]},
                UpdateExpression="SET is_active = :val",
                ExpressionAttributeValues={":val": 0},
            )
    table.put_item(Item=item)
    return item


def current_session(user_id):
    return active_session(user_id) or create_session(user_id)


def append(session, message):
    """A message: the whole session item put back with it."""
    session["conversation"].append(message)
    session["last_message_ts"] = now()
    table.put_item(Item=session)


def chat(user_id, text):
    """A chat message: the user's, then the original's placeholder answer."""
    session = current_session(user_id)
    append(session, {"role": "user", "content": text, "ts": now()})
    append(session, {"role": "assistant", "content": PLACEHOLDER, "ts": now()})


def switch(user_id, number):
    target = sessions(user_id)[number - 1]["sk"]
    for session in sessions(user_id):
        table.update_item(
            Key={"pk": user_id, "sk": session["sk"]},
            UpdateExpression="SET is_active = :val",
            ExpressionAttributeValues={":val": 1 if session["sk"] == target else 0},
        )


def archive(user_id, number):
    """`/archive <n>`: the session as read back through boto3, to S3, then its item deleted."""
    session = sessions(user_id)[number - 1]
    document = {
        "user_id": user_id,
        "session_id": session["session_id"],
        "model_name": session.get("model_name", "unknown"),
        "conversation": session.get("conversation", []),
        "original_sk": session.get("sk", ""),
        "last_message_ts": session.get("last_message_ts", 0),
        "archived_at": UTC_NOW,
        "archive_version": "1.0",
    }
    s3.put_object(
        Bucket=bucket,
        Key=f"archives/{user_id}/{session['session_id']}.json",
        Body=json.dumps(document, indent=2, default=str),
        ContentType="application/json",
        Metadata={
            "user_id": str(user_id),
            "session_id": session["session_id"],
            "model_name": session.get("model_name", "unknown"),
        },
    )
    table.delete_item(Key={"pk": user_id, "sk": session["sk"]})


def import_archive(user_id, data):
    """A JSON file sent to the original: stored under a new id, with its own fields."""
    session_id = new_id()
    document = {
        "user_id": user_id,
        "session_id": session_id,
        "model_name": data.get("model_name", "imported"),
        "conversation": data.get("conversation", []),
        "original_session_id": data.get("session_id", "unknown"),
        "original_user_id": data.get("user_id", "unknown"),
        "last_message_ts": data.get("last_message_ts", 0),
        "archived_at": data.get("archived_at", UTC_NOW),
        "imported_at": UTC_NOW,
        "archive_version": "1.0",
    }
    s3.put_object(
        Bucket=bucket,
        Key=f"archives/{user_id}/{session_id}.json",
        Body=json.dumps(document, indent=2, default=str),
        ContentType="application/json",
        Metadata={"user_id": str(user_id), "session_id": session_id, "imported": "true"},
    )


def save_offset(next_offset):
    table.put_item(
        Item={"pk": 0, "sk": "last_update_id", "last_offset": next_offset, "last_updated_ts": now()}
    )


def number_of(user_id, session_id):
    return [s["session_id"] for s in sessions(user_id)].index(session_id) + 1


def seed_two_sessions(user_id):
    current_session(user_id)  # /start
    chat(user_id, "hello from the first session")
    chat(user_id, "second in the first session")
    second = create_session(user_id)["session_id"]
    chat(user_id, "in session two")
    third = create_session(user_id)["session_id"]
    chat(user_id, "to be archived")
    archive(user_id, number_of(user_id, third))
    switch(user_id, number_of(user_id, second))


def describe(user_id):
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"archives/{user_id}/").get("Contents", [])
    return {
        "sessions": [
            {
                "session_id": s["session_id"],
                "messages": len(s.get("conversation", [])),
                "active": s["is_active"] == 1,
                "last": s["conversation"][-1]["content"] if s.get("conversation") else None,
            }
            for s in sessions(user_id)
        ],
        "archives": [o["Key"] for o in listed],
    }


users = {}
if scenario == "all":
    seed_two_sessions(1001)
    # 500 messages as the original leaves them: the session item put whole. Built in memory up to
    # the last one, since moto takes ~0.3 s per put of a growing item.
    long_session = current_session(1002)
    for i in range(499):
        role = "user" if i % 2 == 0 else "assistant"
        long_session["conversation"].append(
            {"role": role, "content": f"message {i} of the long session", "ts": now()}
        )
    append(long_session, {"role": "assistant", "content": "message 499 of the long session", "ts": now()})
    import_archive(
        1003,
        {
            "user_id": 77,
            "session_id": "someone-elses-id",
            "model_name": "mistral",
            "conversation": [
                {"role": "user", "content": "imported hello", "ts": 1699999000},
                {"role": "assistant", "content": "imported answer", "ts": 1699999001},
            ],
            "archived_at": "2023-11-14T22:00:00Z",
        },
    )
    save_offset(5001)
    users = {uid: describe(uid) for uid in (1001, 1002, 1003)}
elif scenario == "small":
    uid = int(sys.argv[4])
    seed_two_sessions(uid)
    users = {uid: describe(uid)}
else:
    sys.exit(f"unknown scenario {scenario!r}")

print(json.dumps({"users": users}))
