"""Generator G: shapes, structure per configuration, sequential rendering."""

import pytest
import torch

from h2h.nn.config import count_parameters
from h2h.nn.generator import Generator, render_sequence


def tiny(**kwargs) -> Generator:
    torch.manual_seed(0)
    return Generator(ngf=8, n_blocks=3, **kwargs).eval()


def test_output_shape_and_range():
    g = tiny()
    out = g(torch.randn(2, 3, 6, 32, 48), torch.rand(2, 2, 3, 32, 48) * 2 - 1)
    assert out.shape == (2, 3, 32, 48)
    assert out.abs().max() <= 1


def test_structure_of_paper_generator():
    g = Generator()  # ngf 64, 9 blocks, window 3, 6 channels
    first = g.condition_encoder[1]
    assert first.in_channels == 18 and first.kernel_size == (7, 7)
    assert g.previous_encoder[1].in_channels == 6
    blocks = lambda seq: sum(type(m).__name__ == "ResnetBlock" for m in seq)  # noqa: E731
    assert (blocks(g.condition_encoder), blocks(g.previous_encoder), blocks(g.decoder)) == (5, 5, 4)
    convs = [m for m in g.condition_encoder if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs if m.stride == (2, 2)] == [128, 256, 512]
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in g.decoder) == 3
    # Same size as Head2Head's generator (about 71 M parameters).
    assert 69e6 < count_parameters(g) < 73e6


def test_without_eyes_the_condition_encoder_reads_three_channels_per_frame():
    g = tiny(condition_channels=3)
    assert g.condition_encoder[1].in_channels == 9
    assert g(torch.randn(1, 3, 3, 16, 16)).shape == (1, 3, 16, 16)
    with pytest.raises(ValueError, match="conditions must be"):
        g(torch.randn(1, 3, 6, 16, 16))


def test_non_sequential_generator_has_no_second_encoder_and_ignores_previous():
    g = tiny(sequential=False)
    assert g.previous_encoder is None
    x = torch.randn(1, 3, 6, 16, 16)
    assert torch.equal(g(x), g(x, torch.randn(1, 2, 3, 16, 16)))


def test_previous_frames_change_the_output_and_zeros_equal_none():
    g = tiny()
    x = torch.randn(1, 3, 6, 16, 16)
    zeros = torch.zeros(1, 2, 3, 16, 16)
    assert torch.allclose(g(x, zeros), g(x), atol=1e-6)
    assert not torch.allclose(g(x, torch.rand(1, 2, 3, 16, 16)), g(x), atol=1e-4)


def test_frame_size_must_be_a_multiple_of_eight():
    with pytest.raises(ValueError, match="multiple of 8"):
        tiny()(torch.randn(1, 3, 6, 20, 16))


def test_render_sequence_feeds_outputs_back():
    g = tiny()
    cond = torch.randn(1, 5, 6, 16, 16)
    with torch.no_grad():
        out = render_sequence(g, cond)
        assert out.shape == (1, 5, 3, 16, 16)
        # Frame 0: window [0, 0, 0] (first frame repeated), no previous frames.
        assert torch.allclose(out[:, 0], g(cond[:, [0, 0, 0]]), atol=1e-6)
        # Frame 3: window [1, 2, 3] and the outputs of frames 1 and 2.
        assert torch.allclose(out[:, 3], g(cond[:, 1:4], out[:, 1:3]), atol=1e-6)


def test_render_sequence_in_chunks_equals_one_pass():
    g = tiny()
    cond = torch.randn(1, 6, 6, 16, 16)
    with torch.no_grad():
        whole = render_sequence(g, cond)
        first = render_sequence(g, cond[:, :3])
        second = render_sequence(g, cond[:, 1:], previous=first[:, -2:], context=2)
    assert second.shape == (1, 3, 3, 16, 16)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-6)


def test_render_sequence_backpropagates_through_fed_back_frames_unless_detached():
    g = tiny()
    for detach in (False, True):
        cond = torch.randn(1, 4, 6, 16, 16, requires_grad=True)
        out = render_sequence(g, cond, detach_previous=detach)
        # Frame 3 reads conditions 1..3; condition 0 reaches it only through the fed-back frames.
        (grad,) = torch.autograd.grad(out[:, 3].sum(), cond)
        assert grad[:, 1:].abs().sum() > 0
        assert (grad[:, 0].abs().sum() > 0) == (not detach)
