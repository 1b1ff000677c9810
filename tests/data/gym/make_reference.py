"""Reference trajectories of Gymnasium's classic-control tasks, for the tests of `src/envs`.

Run from the repository root (it writes `tests/data/gym/reference.json`):

    python3 -m venv /tmp/gymvenv && /tmp/gymvenv/bin/pip install gymnasium numpy
    /tmp/gymvenv/bin/python tests/data/gym/make_reference.py

Every episode is made with `gym.make(id)` (so Gymnasium's `TimeLimit` wrapper counts the
steps), reset with `seed=0`, and then started from a fixed state by assigning
`env.unwrapped.state` (a float64 array). The actions follow the rule named in the episode's
`policy` (see `EPISODES` below); rules that look at the state are evaluated on Gymnasium's
own state, and every action taken is recorded, so the Rust tests replay a fixed sequence.
Continuous actions are passed as float64 arrays so that Gymnasium computes in float64.

After each step the file records the internal state (`env.unwrapped.state`), the
observation (float32 in Gymnasium, stored as its exact float64 value), the reward and the
`terminated`/`truncated` flags. An episode ends at termination or truncation, except where
its policy says it keeps stepping past termination. Floats are written with `repr`, which
round-trips exactly.
"""

import json
import math
import platform
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

OUT = Path(__file__).with_name("reference.json")


def sine(amplitude, frequency):
    return lambda t, s: [amplitude * math.sin(frequency * t)]


def constant(a):
    return lambda t, s: a


def cycle(pattern, every=1):
    return lambda t, s: pattern[(t // every) % len(pattern)]


def then(first_steps, first, after):
    return lambda t, s: first(t, s) if t < first_steps else after(t, s)


# Each task: Gymnasium id, our name, the observation of a state (as Gymnasium's step
# returns it), and its episodes as (initial state, policy description, policy, extra steps
# past termination). A policy maps (step index t from 0, Gymnasium's state) to an action.
TASKS = [
    (
        "Pendulum-v1",
        "pendulum",
        lambda env: env.unwrapped._get_obs(),
        [
            ([math.pi, 0.0], "u_t = 2.5 sin(0.1 t) (clipped to ±2 by the env)",
             sine(2.5, 0.1), 0),
            ([0.5, -1.0], "u_t = 0", lambda t, s: [0.0], 0),
            ([-7.0, 7.5], "u_t = 2 if θ̇ ≥ 0 else −2 (pumps energy, hits the ±8 speed clip)",
             lambda t, s: [2.0 if s[1] >= 0 else -2.0], 0),
        ],
    ),
    (
        "MountainCarContinuous-v0",
        "mountain_car_continuous",
        lambda env: np.array(env.unwrapped.state, dtype=np.float32),
        [
            ([-0.5, 0.0], "a_t = 1 if velocity ≥ 0 else −1 (reaches the goal)",
             lambda t, s: [1.0 if s[1] >= 0 else -1.0], 0),
            ([-0.45, 0.0], "a_t = 0.3 sin(0.05 t) (never reaches the goal: time limit)",
             sine(0.3, 0.05), 0),
            ([-1.1, -0.06],
             "a_t = −1 for t < 10 (hits the left wall), then 1.5 if velocity ≥ 0 else −1.5 "
             "(clipped to ±1 in the dynamics, not in the reward)",
             then(10, lambda t, s: [-1.0], lambda t, s: [1.5 if s[1] >= 0 else -1.5]), 0),
        ],
    ),
    (
        "CartPole-v1",
        "cartpole",
        lambda env: np.array(env.unwrapped.state, dtype=np.float32),
        [
            ([0.0, 0.0, 0.02, 0.0],
             "a_t = 1 (always push right), 3 more steps past termination",
             constant(1), 3),
            ([0.01, -0.02, -0.03, 0.04],
             "a_t = 1 if 0.1 x + 0.5 ẋ + 10 θ + 2 θ̇ > 0 else 0 (balances until the time limit)",
             lambda t, s: int(0.1 * s[0] + 0.5 * s[1] + 10 * s[2] + 2 * s[3] > 0), 0),
            ([2.3, 0.5, 0.0, 0.0], "a_t = t mod 2 (the cart leaves x > 2.4)", cycle([0, 1]), 0),
            ([-0.03, 0.01, 0.04, -0.02], "a_t = 0 if t mod 3 = 0 else 1", cycle([0, 1, 1]), 0),
        ],
    ),
    (
        "Acrobot-v1",
        "acrobot",
        lambda env: env.unwrapped._get_ob(),
        [
            ([0.05, -0.03, 0.01, 0.02],
             "a_t = 2 if θ̇2 ≥ 0 else 0 (pumps energy until the tip is high enough)",
             lambda t, s: 2 if s[3] >= 0 else 0, 0),
            ([0.1, -0.1, 0.5, -0.5], "a_t = t mod 3 (time limit)", cycle([0, 1, 2]), 0),
            ([0.1, 0.0, 0.0, 30.0],
             "a_t = 0 for 5 steps, then 2 for 5 steps, repeating (θ̇2 starts above its bound 9π)",
             cycle([0, 2], every=5), 0),
        ],
    ),
]


def floats(values):
    return [float(v) for v in values]


def episode(gym_id, observe, initial_state, policy_text, policy, extra):
    env = gym.make(gym_id)
    env.reset(seed=0)
    env.unwrapped.state = np.array(initial_state, dtype=np.float64)
    record = {
        "policy": policy_text,
        "initial_state": floats(initial_state),
        "initial_observation": floats(observe(env)),
        "steps": [],
    }
    t = 0
    past_termination = None
    while True:
        action = policy(t, env.unwrapped.state)
        gym_action = np.array(action, dtype=np.float64) if isinstance(action, list) else action
        observation, reward, terminated, truncated, _ = env.step(gym_action)
        record["steps"].append({
            "action": action,
            "state": floats(env.unwrapped.state),
            "observation": floats(observation),
            "reward": float(reward),
            "terminated": bool(terminated),
            "truncated": bool(truncated),
        })
        t += 1
        if terminated and past_termination is None:
            past_termination = 0
        elif past_termination is not None:
            past_termination += 1
        if truncated or (past_termination is not None and past_termination >= extra):
            break
    env.close()
    return record


def dump(reference):
    """JSON with one step per line, so diffs of the file stay readable."""
    def line(value):
        return json.dumps(value, ensure_ascii=False)

    out = ["{"]
    for key in ("generator", "gymnasium", "numpy", "python", "libc"):
        out.append(f"  {line(key)}: {line(reference[key])},")
    out.append('  "tasks": [')
    for i, task in enumerate(reference["tasks"]):
        out.append("    {")
        for key in ("task", "gymnasium_id", "max_episode_steps"):
            out.append(f"      {line(key)}: {line(task[key])},")
        out.append('      "episodes": [')
        for j, ep in enumerate(task["episodes"]):
            out.append("        {")
            for key in ("policy", "initial_state", "initial_observation"):
                out.append(f"          {line(key)}: {line(ep[key])},")
            out.append('          "steps": [')
            steps = [f"            {line(step)}" for step in ep["steps"]]
            out.append(",\n".join(steps))
            out.append("          ]")
            out.append("        }" + ("," if j + 1 < len(task["episodes"]) else ""))
        out.append("      ]")
        out.append("    }" + ("," if i + 1 < len(reference["tasks"]) else ""))
    out.append("  ]")
    out.append("}")
    return "\n".join(out) + "\n"


def main():
    reference = {
        "generator": "tests/data/gym/make_reference.py",
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "libc": " ".join(platform.libc_ver()),
        "tasks": [],
    }
    for gym_id, name, observe, episodes in TASKS:
        reference["tasks"].append({
            "task": name,
            "gymnasium_id": gym_id,
            "max_episode_steps": gym.spec(gym_id).max_episode_steps,
            "episodes": [episode(gym_id, observe, *ep) for ep in episodes],
        })
    OUT.write_text(dump(reference))
    for task in reference["tasks"]:
        for ep in task["episodes"]:
            last = ep["steps"][-1]
            print(f'{task["task"]}: {len(ep["steps"])} steps, terminated={last["terminated"]}, '
                  f'truncated={last["truncated"]} ({ep["policy"]})', file=sys.stderr)


if __name__ == "__main__":
    main()
