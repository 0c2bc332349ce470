"""Python client for sacbridge's ZeroMQ protocol (docs/protocol.md, version 1).

Needs pyzmq and numpy (Debian: python3-zmq, python3-numpy).

    from sacbridge_client import TelemetrySubscriber, PolicyClient, ControlClient

    policy = PolicyClient("tcp://127.0.0.1:5556")
    action, version = policy.act(np.zeros(17, np.float32))

    control = ControlClient("tcp://127.0.0.1:5557")
    print(control.call("status"))

    with TelemetrySubscriber("tcp://127.0.0.1:5555", topics=["tick"]) as sub:
        msg = sub.receive(timeout_ms=1000)
        print(msg.header["step"], msg.payloads["observation"])

A plant served to sacbridge's ZmqPlant: see `serve_plant` and examples/pendulum_plant.py.
"""

import itertools
import json
import re
import time

import numpy as np
import zmq

PROTOCOL_VERSION = 1
DTYPES = {"<f4": np.dtype("<f4"), "<f8": np.dtype("<f8")}
_TOPIC_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


class ProtocolError(Exception):
    """A message that does not follow the protocol; `code` matches the server's codes."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class RemoteError(Exception):
    """The other side answered with an error reply."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Timeout(Exception):
    pass


class Message:
    __slots__ = ("topic", "header", "payloads")

    def __init__(self, topic, header, payloads):
        self.topic = topic
        self.header = header
        self.payloads = payloads

    def __repr__(self):
        return f"Message({self.topic!r}, seq={self.header.get('seq')}, payloads={list(self.payloads)})"


def now_ns():
    """CLOCK_MONOTONIC in ns: the same clock as the daemon's process.hrtime.bigint()."""
    return time.monotonic_ns()


def encode(topic, seq, fields=None, payloads=None):
    """Frames for a message: topic, JSON header, one little-endian frame per payload.

    payloads: dict name -> numpy array (float32 unless the array is float64).
    """
    header = {"v": PROTOCOL_VERSION, "seq": int(seq), "t_ns": str(now_ns())}
    if fields:
        header.update(fields)
    frames_out = []
    if payloads:
        specs = []
        for name, arr in payloads.items():
            a = np.asarray(arr)
            dtype = "<f8" if a.dtype == np.float64 else "<f4"
            a = np.ascontiguousarray(a, dtype=DTYPES[dtype])
            specs.append({"name": name, "dtype": dtype, "shape": list(a.shape)})
            frames_out.append(a.tobytes())
        header["payloads"] = specs
    return [topic.encode("ascii"), json.dumps(header, separators=(",", ":")).encode("utf-8")] + frames_out


def decode(frames):
    """Validate and decode frames into a Message (payloads as numpy arrays)."""
    if len(frames) < 2:
        raise ProtocolError("frame_count", f"expected at least 2 frames, got {len(frames)}")
    try:
        topic = bytes(frames[0]).decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("topic", "topic is not ASCII") from None
    if not _TOPIC_RE.match(topic):
        raise ProtocolError("topic", f"invalid topic {topic!r}")
    try:
        header = json.loads(bytes(frames[1]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError("header_json", f"header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header_json", "header must be a JSON object")
    if header.get("v") != PROTOCOL_VERSION:
        raise ProtocolError("version", f"header.v is {header.get('v')!r}, expected {PROTOCOL_VERSION}")
    seq = header.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ProtocolError("header_field", f"header.seq must be a non-negative integer, got {seq!r}")
    specs = header.get("payloads", [])
    if not isinstance(specs, list):
        raise ProtocolError("header_field", "header.payloads must be a list")
    if len(frames) - 2 != len(specs):
        raise ProtocolError("frame_count", f"header lists {len(specs)} payloads, message has {len(frames) - 2}")
    payloads = {}
    for spec, frame in zip(specs, frames[2:]):
        if not isinstance(spec, dict):
            raise ProtocolError("header_field", "payload spec must be an object")
        name, dtype, shape = spec.get("name"), spec.get("dtype"), spec.get("shape")
        if dtype not in DTYPES:
            raise ProtocolError("dtype", f"payload {name!r} has unsupported dtype {dtype!r}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ProtocolError("shape", f"payload {name!r} has invalid shape {shape!r}")
        buf = bytes(frame)
        expected = int(np.prod(shape, dtype=np.int64)) * DTYPES[dtype].itemsize
        if len(buf) != expected:
            raise ProtocolError("payload_size", f"payload {name!r} needs {expected} bytes, frame has {len(buf)}")
        payloads[name] = np.frombuffer(buf, dtype=DTYPES[dtype]).reshape(shape)
    return Message(topic, header, payloads)


def _curve_client(sock, curve):
    """curve: dict(server_public=..., public=..., secret=...) as Z85 text."""
    if curve is None:
        return
    sock.curve_serverkey = curve["server_public"].encode("ascii")
    sock.curve_publickey = curve["public"].encode("ascii")
    sock.curve_secretkey = curve["secret"].encode("ascii")


class TelemetrySubscriber:
    """SUB socket on the telemetry stream. Counts messages lost to high-water marks by gaps in seq."""

    def __init__(self, endpoint, topics=("tick", "update", "phase"), curve=None, context=None, rcvhwm=1000):
        self._ctx = context or zmq.Context.instance()
        self.socket = self._ctx.socket(zmq.SUB)
        self.socket.linger = 0
        self.socket.rcvhwm = rcvhwm
        _curve_client(self.socket, curve)
        for t in topics:
            self.socket.setsockopt(zmq.SUBSCRIBE, t.encode("ascii"))
        self.socket.connect(endpoint)
        self.received = 0
        self.missed = 0
        self._last_seq = None

    def receive(self, timeout_ms=None):
        """Next message; raises Timeout. Gaps in seq (over all topics) are added to `missed`.

        Subscribing to a subset of topics makes gaps expected: compare `missed` only when
        subscribed to everything.
        """
        if timeout_ms is not None and not self.socket.poll(timeout_ms):
            raise Timeout(f"no telemetry within {timeout_ms} ms")
        msg = decode(self.socket.recv_multipart(copy=True))
        seq = msg.header["seq"]
        if self._last_seq is not None and seq > self._last_seq + 1:
            self.missed += seq - self._last_seq - 1
        self._last_seq = seq
        self.received += 1
        return msg

    def close(self):
        self.socket.close(0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PolicyClient:
    """DEALER client of the policy server. `act` is one round trip; `act_many` pipelines."""

    def __init__(self, endpoint, curve=None, context=None, timeout_ms=2000):
        self._ctx = context or zmq.Context.instance()
        self.socket = self._ctx.socket(zmq.DEALER)
        self.socket.linger = 0
        _curve_client(self.socket, curve)
        self.socket.connect(endpoint)
        self.timeout_ms = timeout_ms
        self._seq = itertools.count(1)

    def _receive(self, seq):
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            remaining = int((deadline - time.monotonic()) * 1000)
            if remaining <= 0 or not self.socket.poll(remaining):
                raise Timeout(f"no reply to request {seq} within {self.timeout_ms} ms")
            msg = decode(self.socket.recv_multipart())
            if msg.header["seq"] != seq:
                continue  # a reply to an earlier request that timed out
            if msg.topic == "error":
                err = msg.header.get("error", {})
                raise RemoteError(err.get("code", "unknown"), err.get("message", ""))
            return msg

    def info(self):
        seq = next(self._seq)
        self.socket.send_multipart(encode("info", seq))
        return self._receive(seq).header

    def act(self, observation, deterministic=True):
        """Return (action as float32 array, policy_version)."""
        seq = next(self._seq)
        obs = np.asarray(observation, dtype=np.float32).ravel()
        self.socket.send_multipart(encode("act", seq, {"deterministic": bool(deterministic)}, {"observation": obs}))
        msg = self._receive(seq)
        return msg.payloads["action"].copy(), msg.header["policy_version"]

    def send_raw(self, frames):
        """Send arbitrary frames (for protocol testing); returns nothing."""
        self.socket.send_multipart(frames)

    def receive_raw(self, timeout_ms=None):
        if not self.socket.poll(timeout_ms if timeout_ms is not None else self.timeout_ms):
            raise Timeout("no reply")
        return decode(self.socket.recv_multipart())

    def close(self):
        self.socket.close(0)


class ControlClient:
    """REQ client of the control API. `call` returns the result object or raises RemoteError."""

    def __init__(self, endpoint, curve=None, context=None, timeout_ms=15000):
        self._ctx = context or zmq.Context.instance()
        self.endpoint = endpoint
        self.curve = curve
        self.timeout_ms = timeout_ms
        self._ids = itertools.count(1)
        self._connect()

    def _connect(self):
        self.socket = self._ctx.socket(zmq.REQ)
        self.socket.linger = 0
        _curve_client(self.socket, self.curve)
        self.socket.connect(self.endpoint)

    def call(self, cmd, **args):
        request_id = next(self._ids)
        self.socket.send(json.dumps({"v": PROTOCOL_VERSION, "id": request_id, "cmd": cmd, "args": args}).encode("utf-8"))
        if not self.socket.poll(self.timeout_ms):
            # REQ cannot send again before a reply: start over with a fresh socket.
            self.socket.close(0)
            self._connect()
            raise Timeout(f"control command {cmd!r}: no reply within {self.timeout_ms} ms")
        reply = json.loads(self.socket.recv().decode("utf-8"))
        if not reply.get("ok"):
            err = reply.get("error", {})
            raise RemoteError(err.get("code", "unknown"), err.get("message", ""))
        return reply["result"]

    def status(self):
        return self.call("status")

    def close(self):
        self.socket.close(0)


def serve_plant(endpoint, plant, context=None, curve_server=None, max_messages=None, on_bound=None):
    """Serve a plant to sacbridge's ZmqPlant over a REP socket, until a 'close' message.

    plant must provide:
      spec() -> dict(name, signals=[{name, size}], command=dict(size, low, high), control_period)
      reset(episode, seed) -> dict signal name -> array
      step(command: np.ndarray) -> dict signal name -> array
    curve_server: dict(secret=...) to serve with CURVE (no ZAP: any client with the server key).
    An endpoint ending in ":0" binds a free port; on_bound(endpoint) is called once listening.
    Returns the number of messages served.
    """
    ctx = context or zmq.Context.instance()
    sock = ctx.socket(zmq.REP)
    sock.linger = 0
    if curve_server is not None:
        sock.curve_server = True
        sock.curve_secretkey = curve_server["secret"].encode("ascii")
    if endpoint.endswith(":0"):
        base = endpoint[: endpoint.rindex(":")]
        endpoint = f"{base}:{sock.bind_to_random_port(base)}"
    else:
        sock.bind(endpoint)
    if on_bound is not None:
        on_bound(endpoint)
    spec = plant.spec()
    command_size = spec["command"]["size"]
    served = 0
    try:
        while max_messages is None or served < max_messages:
            frames = sock.recv_multipart()
            served += 1
            seq = 0
            try:
                msg = decode(frames)
                seq = msg.header["seq"]
                if msg.topic == "hello":
                    reply = encode("spec", seq, spec)
                elif msg.topic == "reset":
                    signals = plant.reset(msg.header.get("episode", 0), msg.header.get("seed"))
                    reply = encode("signals", seq, None, _signal_payloads(signals))
                elif msg.topic == "step":
                    cmd = msg.payloads.get("command")
                    if cmd is None or cmd.size != command_size:
                        raise ProtocolError("shape", f"step needs a 'command' payload of {command_size} elements")
                    if not np.all(np.isfinite(cmd)):
                        raise ProtocolError("non_finite", "command has non-finite values")
                    signals = plant.step(cmd.astype(np.float64))
                    reply = encode("signals", seq, None, _signal_payloads(signals))
                elif msg.topic == "close":
                    sock.send_multipart(encode("bye", seq))
                    break
                else:
                    raise ProtocolError("topic", f"a plant answers hello, reset, step and close, not {msg.topic!r}")
            except ProtocolError as e:
                reply = encode("error", seq, {"error": {"code": e.code, "message": str(e)}})
            except Exception as e:  # the plant's own failure: report it, keep serving
                reply = encode("error", seq, {"error": {"code": "plant_error", "message": f"{type(e).__name__}: {e}"}})
            sock.send_multipart(reply)
    finally:
        sock.close(0)
    return served


def _signal_payloads(signals):
    return {name: np.asarray(v, dtype=np.float64).ravel() for name, v in signals.items()}
