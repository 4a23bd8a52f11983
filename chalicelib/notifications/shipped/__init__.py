"""The shipped notification templates' texts, as data (``templates.json``), read by ``notifications.templates``.

A package of its own so that only what renders templates carries the texts: the webhook functions' assets take the
data files of the packages they import (``infra/btrix_infra/packaging.py``), and none imports this one.
"""
