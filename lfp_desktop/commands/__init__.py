"""Sub-commands of the ``lfp`` CLI, one module each (see ``lfp_desktop.cli``)."""
