#!/usr/bin/env python3
"""A pendulum in numpy, served as a remote plant for sacbridge (docs/protocol.md, "Remote plant").

Dynamics of Gymnasium's Pendulum-v1: theta = 0 is upright, torque in [-2, 2] N m, dt = 0.05 s.

    /usr/bin/python3 pendulum_plant.py tcp://127.0.0.1:5560

With the endpoint's port given as 0 (tcp://127.0.0.1:0) a free port is chosen; the bound
endpoint is printed on stdout as JSON {"endpoint": ...} once the plant is listening.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sacbridge_client import serve_plant  # noqa: E402


class Pendulum:
    max_speed = 8.0
    max_torque = 2.0
    dt = 0.05
    g = 10.0
    m = 1.0
    l = 1.0

    def __init__(self):
        self.rng = np.random.default_rng(0)
        self.theta = 0.0
        self.theta_dot = 0.0

    def spec(self):
        return {
            "name": "numpy-pendulum",
            "signals": [
                # Named like MuJoCo's and a JointState's signals, so sacbridge's built-in
                # `pendulum` task scores this plant exactly as it scores the MuJoCo one.
                {"name": "qpos", "size": 1, "doc": "angle from upright, rad"},
                {"name": "qvel", "size": 1, "doc": "angular velocity, rad/s"},
            ],
            "command": {"size": 1, "low": [-self.max_torque], "high": [self.max_torque], "names": ["torque"]},
            "control_period": self.dt,
        }

    def signals(self):
        return {"qpos": [self.theta], "qvel": [self.theta_dot]}

    def reset(self, episode, seed):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.theta = float(self.rng.uniform(-np.pi, np.pi))
        self.theta_dot = float(self.rng.uniform(-1.0, 1.0))
        return self.signals()

    def step(self, command):
        u = float(np.clip(command[0], -self.max_torque, self.max_torque))
        acc = 3 * self.g / (2 * self.l) * np.sin(self.theta) + 3.0 / (self.m * self.l**2) * u
        self.theta_dot = float(np.clip(self.theta_dot + acc * self.dt, -self.max_speed, self.max_speed))
        self.theta = self.theta + self.theta_dot * self.dt
        return self.signals()


def main():
    endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5560"
    announce = lambda bound: print(json.dumps({"endpoint": bound}), flush=True)  # noqa: E731
    served = serve_plant(endpoint, Pendulum(), on_bound=announce)
    print(json.dumps({"served": served}), flush=True)


if __name__ == "__main__":
    main()
