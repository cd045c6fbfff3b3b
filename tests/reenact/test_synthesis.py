"""The generator's side of reenactment: its frames do not depend on the torch thread count that
the synthesiser picks by speed."""

import numpy as np
import torch

from h2h.nn.config import build_generator
from h2h.reenact.synthesis import Synthesiser
from tests.support.params import profile


def test_frames_do_not_depend_on_the_thread_count():
    config = profile("tiny", ngf=8, ndf=8)
    torch.manual_seed(0)
    generator = build_generator(config)
    rng = np.random.default_rng(0)
    inputs = rng.integers(0, 256, (8, 2, 96, 96, 3), dtype=np.uint8)  # NMFC, eyes per frame
    runs = {}
    previous = torch.get_num_threads()
    try:
        for plan in ((1,) * 8, (2,) * 8, (1, 2) * 4):
            synthesise = Synthesiser(generator, config)
            synthesise.threads = None  # the plan sets the count for each frame instead
            frames = []
            for (nmfc, eyes), count in zip(inputs, plan):
                torch.set_num_threads(count)
                frames.append(synthesise(nmfc, eyes))
            runs[plan] = np.stack(frames)
    finally:
        torch.set_num_threads(previous)
    one, two, mixed = runs.values()
    assert one.shape == (8, 64, 64, 3) and one.std() > 0
    assert np.array_equal(one, two) and np.array_equal(one, mixed)
