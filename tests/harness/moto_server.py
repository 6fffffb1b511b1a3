# moto's server, with one change: each DynamoDB request runs alone, as on DynamoDB, where every
# request is atomic and transactions are serializable. moto's own server handles requests on
# threads, and a TransactWriteItems that fails restores the whole table from a copy taken when
# it began, undoing whatever other requests wrote meanwhile: a conditional append that lost a
# race could erase the winner's append after the winner was told it succeeded.
import sys
import threading

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_alone = threading.Lock()
_call_action = DynamoHandler.call_action


def call_action(self):
    with _alone:
        return _call_action(self)


DynamoHandler.call_action = call_action
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
