#!/usr/bin/env python3
"""Exercise a live sacbridge (or the test fixture) through the Python client.

    /usr/bin/python3 check_live.py '{"telemetry": "...", "policy": "...", "control": "..."}'

Prints one JSON object with what it saw; exits non-zero on the first failed check.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sacbridge_client import (  # noqa: E402
    ControlClient,
    PolicyClient,
    RemoteError,
    TelemetrySubscriber,
    encode,
)


def expect_error(code, fn):
    try:
        fn()
    except RemoteError as e:
        assert e.code == code, f"expected error {code}, got {e.code}: {e.message}"
        return e.message
    raise AssertionError(f"expected error {code}, got a result")


def main():
    ep = json.loads(sys.argv[1])
    out = {}

    # Telemetry first, so the phase changes below are seen.
    sub = TelemetrySubscriber(ep["telemetry"])
    ticks, updates = [], []
    while len(ticks) < 20 or len(updates) < 2:
        msg = sub.receive(timeout_ms=5000)
        if msg.topic == "tick":
            ticks.append(msg)
        elif msg.topic == "update":
            updates.append(msg)
    t = ticks[-1]
    assert t.payloads["observation"].dtype == np.float32
    assert int(t.header["t_ns"]) > 0
    out["tick"] = {
        "step": t.header["step"],
        "observation": t.payloads["observation"].tolist(),
        "action": t.payloads["action"].tolist(),
        "reward": t.header["reward"],
        "timing": t.header["timing"],
        "policy_version": t.header["policy_version"],
    }
    out["update"] = {k: updates[-1].header[k] for k in ("losses", "temperature", "entropy", "policy_version")}
    steps = [m.header["step"] for m in ticks]
    assert steps == sorted(steps), "tick steps out of order"

    # Policy: info, deterministic and sampled actions, error replies.
    policy = PolicyClient(ep["policy"])
    info = policy.info()
    obs_size, act_size = info["observation_size"], info["action_size"]
    obs = np.linspace(-1, 1, obs_size).astype(np.float32)
    # The daemon keeps training and swaps weights in between requests: the same policy version must
    # give the same deterministic action, so compare a pair answered by one version.
    for pairs in range(1, 51):
        a1, version = policy.act(obs, deterministic=True)
        a2, version2 = policy.act(obs, deterministic=True)
        if version == version2:
            break
    else:
        raise AssertionError("50 pairs of deterministic actions all straddled a weight swap")
    assert np.array_equal(a1, a2), f"deterministic actions of policy version {version} differ"
    s1, _ = policy.act(obs, deterministic=False)
    s2, _ = policy.act(obs, deterministic=False)
    assert not np.array_equal(s1, s2), "sampled actions are equal"
    assert np.all(np.abs(s1) <= 1)
    out["policy"] = {"info": info, "observation": obs.tolist(), "action": a1.tolist(), "version": version,
                     "deterministic_pairs": pairs}
    out["policy_errors"] = {
        "shape": expect_error("shape", lambda: policy.act(np.zeros(obs_size + 1, np.float32))),
        "non_finite": expect_error("non_finite", lambda: policy.act(np.full(obs_size, np.nan, np.float32))),
    }
    policy.send_raw(encode("act", 99, {"v": 2}, {"observation": obs}))
    bad = policy.receive_raw(2000)
    assert bad.topic == "error" and bad.header["error"]["code"] == "version", bad.header
    out["policy_errors"]["version"] = bad.header["error"]["message"]

    # Control: commands, refusals, unknown commands, bad arguments.
    control = ControlClient(ep["control"])
    out["control"] = {
        "status": control.status(),
        "pause": control.call("pause", reason="python test"),
        "status_paused": control.status(),
        "resume": control.call("resume"),
        "estop": control.call("estop", reason="python test"),
        "resume_refused": expect_error("refused", lambda: control.call("resume")),
        "clear_estop": control.call("clear_estop"),
        "switch": control.call("switch_phase", phase=ep.get("switch_to", "sim_training"), reason="python test"),
        "checkpoint": control.call("checkpoint", tag="py"),
        "evaluate": control.call("evaluate", episodes=3),
        "unknown": expect_error("unknown_command", lambda: control.call("launch_missiles")),
        "bad_phase": expect_error("bad_arguments", lambda: control.call("switch_phase", phase="flying")),
        "bad_episodes": expect_error("bad_arguments", lambda: control.call("evaluate", episodes=0)),
        "extra_arg": expect_error("bad_arguments", lambda: control.call("pause", speed=3)),
    }

    phases = []
    while len(phases) < 5:
        msg = sub.receive(timeout_ms=5000)
        if msg.topic == "phase":
            phases.append([msg.header["from"], msg.header["to"]])
    out["phases"] = phases
    out["telemetry_missed"] = sub.missed
    sub.close()
    policy.close()
    control.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
