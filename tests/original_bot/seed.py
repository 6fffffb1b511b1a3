"""Fills a table and a bucket the way the original bot does, by running its own handler.

usage: seed.py <table> <bucket> <scenario> [user_id]
  all     users 1001 (two sessions, the second active, and an archive), 1002 (one session of 500
          messages) and 1003 (only an imported archive), and the offset row (next offset 5001)
  small   user <user_id> shaped like 1001

Ids, clocks and archive times are made deterministic, so two runs write the same items. Prints
what each user should see, as JSON.
"""

import datetime as _datetime
import json
import os
import random
import sys
import time as _time
import types
import uuid as _uuid

os.environ.pop("TELEGRAM_TOKEN", None)  # replies go nowhere
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import handler  # noqa: E402

table_name, bucket, scenario = sys.argv[1], sys.argv[2], sys.argv[3]
handler.table = handler.dynamodb.Table(table_name)
handler.ARCHIVE_BUCKET = bucket

_clock = [1_700_000_000]


def _now():
    _clock[0] += 1
    return _clock[0]


handler.time = types.SimpleNamespace(time=_now, strftime=_time.strftime, localtime=_time.localtime)
_rng = random.Random(scenario + (sys.argv[4] if len(sys.argv) > 4 else ""))
handler.uuid = types.SimpleNamespace(uuid4=lambda: _uuid.UUID(int=_rng.getrandbits(128), version=4))


class _FixedDatetime(_datetime.datetime):
    @classmethod
    def utcnow(cls):
        return _datetime.datetime(2024, 1, 15, 10, 30, 0, 123456)


handler.datetime = _FixedDatetime
# The handler prints as it goes: keep standard output for the JSON.
_stdout, sys.stdout = sys.stdout, sys.stderr
_update = [0]


def say(user_id, text):
    _update[0] += 1
    handler.handle_message(text, user_id, user_id, _update[0])


def sessions(user_id):
    return [it for it in handler.get_user_items(user_id) if it["sk"].startswith("MODEL#")]


def number_of(user_id, session_id):
    ids = [s["session_id"] for s in sessions(user_id)]
    return ids.index(session_id) + 1


def seed_two_sessions(user_id):
    say(user_id, "/start")
    say(user_id, "hello from the first session")
    say(user_id, "second in the first session")
    say(user_id, "/newsession")
    second = handler.get_active_session(user_id)["session_id"]
    say(user_id, "in session two")
    say(user_id, "/newsession")
    third = handler.get_active_session(user_id)["session_id"]
    say(user_id, "to be archived")
    say(user_id, f"/archive {number_of(user_id, third)}")
    say(user_id, f"/switch {number_of(user_id, second)}")


def describe(user_id):
    listed = handler.list_user_archives(user_id)
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
        "archives": [a["s3_key"] for a in listed],
    }


users = {}
if scenario == "all":
    seed_two_sessions(1001)
    # 500 messages as handler.append_to_conversation leaves them: the session item put whole.
    # Built in memory up to the last one, since moto takes ~0.3 s per put of a growing item.
    long_session = handler.get_current_session(1002)
    for i in range(499):
        role = "user" if i % 2 == 0 else "assistant"
        long_session["conversation"].append({"role": role, "content": f"message {i} of the long session", "ts": _now()})
    handler.append_to_conversation(long_session, {"role": "assistant", "content": "message 499 of the long session", "ts": _now()})
    handler.import_archive_to_s3(
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
    handler.save_offset(5001)
    users = {uid: describe(uid) for uid in (1001, 1002, 1003)}
elif scenario == "small":
    uid = int(sys.argv[4])
    seed_two_sessions(uid)
    users = {uid: describe(uid)}
else:
    sys.exit(f"unknown scenario {scenario!r}")

print(json.dumps({"users": users}), file=_stdout)
