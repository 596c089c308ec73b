"""The embedded broker: kombu's filesystem transport, with messages that appear whole.

kombu (5.7) creates a message file, then writes it. A worker listing the folder in between moves
the file away and reads it empty, and the JSON error stopped the worker (and `make run` with it)
under a burst of webhooks; the message was lost with it. Here a message is written under a name
consumers skip, then renamed into place, and rename is atomic: a consumer sees a whole message
or none. A message that is unreadable all the same (cut short by a power loss, or left by an
older version) is dropped with a warning instead of stopping the worker; its run is in the
database, and the run reaper publishes it again.
"""

from __future__ import annotations

import logging
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

logger = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict, **kwargs) -> None:
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        # Consumers match "<anything>.<queue>.msg" after the first dot: ".partial-…" never does.
        partial = os.path.join(self.data_folder_out, f".partial-{uuid.uuid4()}")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add a message to {self.data_folder_out!r}") from exc

    def _get(self, queue: str) -> dict:
        while True:  # ends with a message, or with Empty once the folder holds none for queue
            try:
                return super()._get(queue)
            except ValueError:  # the file is gone already: the next one is read
                logger.warning("dropped an unreadable message of queue %s", queue)


class Transport(filesystem.Transport):
    Channel = Channel
