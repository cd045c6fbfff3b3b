"""Training of the video rendering network (paper 3.4, 4.1, 4.6): data, loop, checkpoints,
data parallelism, and the pretrain / finetune jobs the stages run.

Usable without DVC or MLflow; import from the modules. Typical finetuning of one target::

    from h2h.train.data import ClipPaths, WindowDataset, load_clip
    from h2h.train.loop import train
    from h2h.train.checkpoint import load_generator

    clips = [load_clip(ClipPaths.under("data", "obama"), config.resolution)]
    result = train(config, WindowDataset(clips, config), "work/obama", options, loss)
    generator, config = load_generator(result.generator)

Pretraining on a corpus uses ``load_clips(..., cache_dir=...)`` (memory-mapped clips); several
processes use :func:`h2h.train.distributed.launch` or ``torchrun``.
"""
