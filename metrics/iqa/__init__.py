"""pyiqa's quality metrics as dr2bench metrics: ``pyiqa.musiq``, ``pyiqa.fsim``, ``pyiqa.qalign``...

``table.yaml`` lists the bridged metrics as data (kind, direction, score range, pyiqa's options,
the files each one loads and where to get them); :mod:`.table` reads it without importing torch
or pyiqa. :mod:`.plugin` is the registered ``pyiqa`` plugin (one class per metric, chosen from
the tag), :mod:`.offline` keeps pyiqa from ever downloading, and :mod:`.install` tidies the
pyiqa wheel's stray folders after ``pip install``. Documentation: ``docs/metrics.md``.
"""
