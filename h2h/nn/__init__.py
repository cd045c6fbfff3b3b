"""Head2Head++ video rendering networks (paper Sec. 3.4) and their training objective.

Plain PyTorch, no pipeline dependencies. Import from the modules: ``config`` (ModelConfig, the
ablations, build_models), ``generator`` (G, Eq. 5), ``discriminator`` (D_I, D_M, D_D),
``losses`` (Eq. 6, 7), ``regions`` (mouth crops, condition layout), ``temporal`` (D_D inputs),
``vgg`` (the perceptual loss). Typical use::

    from h2h.nn.config import ModelConfig, build_models
    from h2h.nn.generator import render_sequence
    from h2h.nn.losses import LossConfig, Window, build_objective

    models = build_models(ModelConfig(128, ngf=32, n_blocks=4, ndf=32, num_d=2, n_layers_d=3))
    objective = build_objective(models, LossConfig(10.0, 10.0), vgg_weights="vgg19.pth")
    generated = render_sequence(models.generator, conditions, context=models.config.window - 1)
    terms = objective(Window(conditions[:, 2:], generated, real, mouth_centres, flows))
"""
