"""Native PyTorch re-implementations of published face-restoration networks.

Each module builds one network whose ``state_dict`` names and shapes match the official
checkpoint exactly (see ``../shared/specs``), so the official file loads with ``strict=True``.
These modules import torch at the top: import them only inside a restorer's ``load()``.
"""
