"""Reference transitions and episodes of Gymnasium's MuJoCo tasks, for the tests of
`src/envs/mujoco`.

Run from the repository root with `make mujoco-reference`, which installs the two wheels of
`make mujoco` (mujoco==3.17.0, gymnasium==1.4.0: the same shared library the Rust build
links) with NumPy into the virtual environment third_party/mujoco/venv and runs

    third_party/mujoco/venv/bin/python tests/data/gym/make_mujoco_reference.py

It writes `tests/data/gym/mujoco.json.gz`. Per task, made with `gym.make(id)` and its
default arguments (so `TimeLimit` counts the steps):

* `transitions`: single steps from given states. Each starts as the Rust `set_state` does,
  `mj_resetData` then the env's `set_state(qpos, qvel)` (which ends with `mj_forward`), so
  that a step is a function of (state, action) alone; the states are ones visited by
  random-action episodes, some pushed by noise towards the edges of the healthy ranges; the
  actions are uniform on 1.2 times the action box, so some components lie outside it
  (MuJoCo clamps the controls; the control cost sees the action as given).
* `episodes`: whole episodes from `env.reset(seed=…)` (the initial state is recorded, our
  resets draw from another generator), with the actions of the episode's policy, until
  termination (then a few steps more, as Gymnasium keeps stepping) or the time limit.

Each step records the action, then `qpos ++ qvel`, the observation, the reward and the
`terminated`/`truncated` flags. Actions are float64 arrays, so Gymnasium computes in
float64. Floats are written with `repr`, which round-trips exactly; the file is gzipped.
"""

import gzip
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np

OUT = Path(__file__).resolve().with_name("mujoco.json.gz")

# Our name, Gymnasium's id, transitions to record, and the episodes:
# (reset seed, policy description, policy(t, env) -> action, steps recorded past termination).
TRANSITIONS = 40


def uniform_policy(seed, scale=1.0):
    rng = np.random.default_rng(seed)

    def policy(t, env):
        space = env.action_space
        return rng.uniform(scale * space.low.astype(np.float64),
                           scale * space.high.astype(np.float64))
    return policy


def balance(t, env):
    """A PD rule that keeps InvertedPendulum's pole up (and the cart near 0)."""
    x, theta = env.unwrapped.data.qpos
    x_dot, theta_dot = env.unwrapped.data.qvel
    return np.array([np.clip(0.2 * x + 8.0 * theta + 0.6 * x_dot + 1.0 * theta_dot, -3, 3)])


def zeros(t, env):
    return np.zeros(env.action_space.shape, dtype=np.float64)


RANDOM = "a_t ~ U(action box), NumPy default_rng({seed})"
TASKS = [
    ("half_cheetah", "HalfCheetah-v5",
     [(1, RANDOM.format(seed=11), uniform_policy(11), 0)]),
    ("hopper", "Hopper-v5",
     [(2, RANDOM.format(seed=12), uniform_policy(12), 3),
      (3, "a_t = 0 (falls over)", zeros, 3)]),
    ("walker2d", "Walker2d-v5",
     [(4, RANDOM.format(seed=13), uniform_policy(13), 3),
      (5, "a_t = 0 (falls over)", zeros, 3)]),
    ("ant", "Ant-v5",
     [(6, RANDOM.format(seed=14), uniform_policy(14), 3)]),
    ("inverted_pendulum", "InvertedPendulum-v5",
     [(7, RANDOM.format(seed=15), uniform_policy(15), 3),
      (8, "a_t = clip(0.2 x + 8 θ + 0.6 ẋ + θ̇, ±3) (balances until the time limit)",
       balance, 0)]),
    ("inverted_double_pendulum", "InvertedDoublePendulum-v5",
     [(9, RANDOM.format(seed=16), uniform_policy(16), 3)]),
    ("swimmer", "Swimmer-v5",
     [(10, RANDOM.format(seed=17), uniform_policy(17), 0)]),
    ("reacher", "Reacher-v5",
     [(11, RANDOM.format(seed=18), uniform_policy(18), 0),
      (12, RANDOM.format(seed=19), uniform_policy(19), 0)]),
]


def floats(values):
    return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def state(env):
    return floats(np.concatenate([env.unwrapped.data.qpos, env.unwrapped.data.qvel]))


def step_record(env, action):
    observation, reward, terminated, truncated, _ = env.step(action)
    return {
        "action": floats(action),
        "state": state(env),
        "observation": floats(observation),
        "reward": float(reward),
        "terminated": bool(terminated),
        "truncated": bool(truncated),
    }


def start(env, qpos, qvel):
    """The Rust `set_state`: mj_resetData, then Gymnasium's set_state (state, mj_forward)."""
    env.reset(seed=0)
    unwrapped = env.unwrapped
    mujoco.mj_resetData(unwrapped.model, unwrapped.data)
    unwrapped.set_state(qpos, qvel)
    return unwrapped._get_obs()


def visited_states(env, rng, count):
    """States of random-action episodes (resets on termination), every 7th step, half of
    them pushed by Gaussian noise of 5% of each component's scale (plus 0.05)."""
    nq = env.unwrapped.model.nq
    states = []
    env.reset(seed=int(rng.integers(1 << 31)))
    t = 0
    while len(states) < count:
        action = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float64)
        _, _, terminated, truncated, _ = env.step(action)
        t += 1
        if t % 7 == 0:
            s = np.array(state(env))
            if len(states) % 2 == 1:
                s = s + rng.normal(size=s.shape) * (0.05 * np.abs(s) + 0.05)
            states.append((s[:nq], s[nq:]))
        if terminated or truncated:
            env.reset(seed=int(rng.integers(1 << 31)))
    return states


def transitions(gym_id, seed):
    env = gym.make(gym_id)
    rng = np.random.default_rng(seed)
    records = []
    for qpos, qvel in visited_states(env, rng, TRANSITIONS):
        initial_observation = start(env, qpos, qvel)
        space = env.action_space
        action = rng.uniform(1.2 * space.low.astype(np.float64), 1.2 * space.high.astype(np.float64))
        record = {"initial_state": floats(np.concatenate([qpos, qvel])),
                  "initial_observation": floats(initial_observation)}
        record.update(step_record(env, action))
        records.append(record)
    env.close()
    return records


def episode(gym_id, seed, policy_text, policy, extra):
    env = gym.make(gym_id)
    observation, _ = env.reset(seed=seed)
    record = {
        "policy": policy_text,
        "reset_seed": seed,
        "initial_state": state(env),
        "initial_observation": floats(observation),
        "steps": [],
    }
    t = 0
    past_termination = None
    while True:
        action = np.asarray(policy(t, env), dtype=np.float64)
        step = step_record(env, action)
        record["steps"].append(step)
        t += 1
        if step["terminated"] and past_termination is None:
            past_termination = 0
        elif past_termination is not None:
            past_termination += 1
        if step["truncated"] or (past_termination is not None and past_termination >= extra):
            break
    env.close()
    return record


def main():
    reference = {
        "generator": "tests/data/gym/make_mujoco_reference.py",
        "gymnasium": gym.__version__,
        "mujoco": mujoco.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "libc": " ".join(platform.libc_ver()),
        "tasks": [],
    }
    for i, (name, gym_id, episodes) in enumerate(TASKS):
        reference["tasks"].append({
            "task": name,
            "gymnasium_id": gym_id,
            "max_episode_steps": gym.spec(gym_id).max_episode_steps,
            "transitions": transitions(gym_id, 1000 + i),
            "episodes": [episode(gym_id, *ep) for ep in episodes],
        })
    text = json.dumps(reference, separators=(",", ":"), ensure_ascii=False)
    OUT.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))
    for task in reference["tasks"]:
        terminated = sum(t["terminated"] for t in task["transitions"])
        print(f'{task["task"]}: {len(task["transitions"])} transitions ({terminated} terminated)',
              file=sys.stderr)
        for ep in task["episodes"]:
            last = ep["steps"][-1]
            print(f'  {len(ep["steps"])} steps, terminated={last["terminated"]}, '
                  f'truncated={last["truncated"]} ({ep["policy"]})', file=sys.stderr)
    print(f"{OUT}: {OUT.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    # MuJoCo appends its warnings to MUJOCO_LOG.TXT in the working directory: keep it out of
    # the repository.
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        main()
