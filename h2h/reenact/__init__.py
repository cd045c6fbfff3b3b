"""Reenactment (paper 4.2): a target driven by a source's pose, expression and gaze.

``conditioning`` adapts the source to the target (head / face / self modes), ``target`` reads a
trained target's stage outputs, ``synthesis`` runs its generator frame by frame, ``offline`` and
``live`` reenact a raw video or a stream without DVC.
"""
