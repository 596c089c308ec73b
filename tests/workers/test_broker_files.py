"""The embedded broker's messages appear whole: a consumer racing a publisher never reads one
half written (kombu's own filesystem transport let it, and the worker stopped on the JSON)."""

import multiprocessing
import uuid
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

TRANSPORT = "workers.broker_files:Transport"
MESSAGES = 3000


def fresh_queue() -> str:
    """kombu keeps declared queues per process, whatever the folder: a name per test."""
    return f"q{uuid.uuid4().hex[:12]}"


def _connection(folder: Path, transport: str = TRANSPORT) -> Connection:
    return Connection("filesystem://", transport=transport, transport_options={
        "data_folder_in": str(folder), "data_folder_out": str(folder),
        "control_folder": str(folder / "control"), "store_processed": False,
        "polling_interval": 0.01})


def _publish(folder: Path, transport: str, name: str) -> None:
    with _connection(folder, transport) as conn:
        queue = conn.SimpleQueue(name)
        for i in range(MESSAGES):
            queue.put({"n": i, "pad": "x" * 2000})


def consume_while_publishing(folder: Path, transport: str) -> list[int]:
    ctx = multiprocessing.get_context("spawn")  # a publisher with its own interpreter, as gunicorn
    name = fresh_queue()
    publisher = ctx.Process(target=_publish, args=(folder, transport, name))
    publisher.start()
    got = []
    with _connection(folder, transport) as conn:
        queue = conn.SimpleQueue(name)
        while len(got) < MESSAGES:
            message = queue.get(timeout=60)
            assert message.payload["pad"] == "x" * 2000
            got.append(message.payload["n"])
            message.ack()
    publisher.join(timeout=60)
    return got


def test_a_consumer_racing_the_publisher_reads_every_message_whole(tmp_path):
    got = consume_while_publishing(tmp_path, TRANSPORT)
    assert sorted(got) == list(range(MESSAGES))
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".partial-")]


def test_no_consumer_sees_a_message_before_it_is_written(tmp_path, monkeypatch):
    """The window itself, made wide: while the publisher serializes, a consumer reads the folder.
    kombu's transport had already created the (empty) message file there; ours has not."""
    import workers.broker_files as transport

    seen, name = [], fresh_queue()

    def dumps_then_look(payload):
        with _connection(tmp_path) as other:
            try:
                seen.append(other.default_channel._get(name))
            except Empty:
                seen.append("empty")
        return real(payload)

    real = transport.dumps
    monkeypatch.setattr(transport, "dumps", dumps_then_look)
    with _connection(tmp_path) as conn:
        conn.SimpleQueue(name).put({"n": 1})
    assert seen == ["empty"]
    assert [p.name.endswith(f".{name}.msg") for p in tmp_path.iterdir() if p.is_file()] == [True]


def test_an_unreadable_message_is_dropped_not_fatal(tmp_path, caplog):
    name = fresh_queue()
    (tmp_path / f"1_cut-short.{name}.msg").write_bytes(b"")  # as a power loss could leave one
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue(name)
        queue.put({"n": 1})
        message = queue.get(timeout=10)
        assert message.payload == {"n": 1}
        message.ack()
        with pytest.raises(Empty):
            queue.get(timeout=0.2)
    assert "dropped an unreadable message" in caplog.text
    assert list(tmp_path.glob("*.msg")) == []
