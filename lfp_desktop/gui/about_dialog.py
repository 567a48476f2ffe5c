"""Help → About: version, method, engine device, libraries, loaded models, folders."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from lfp_desktop.config import config_dir, data_dir
from lfp_desktop.gui.jobs import ModelInfo

METHOD = ("Attributes an image made by a latent-fingerprinted StyleGAN2 generator to the registered user whose "
          "key is embedded in it (Nie et al., <i>Attributing Image Generative Models using Latent "
          "Fingerprints</i>, ICML 2023): the generator is inverted from several starts, the key is read from "
          "the latent and matched against the registry with a stated false-attribution probability.")


def about_html(info: dict, models: list[ModelInfo], devices: list[str]) -> str:
    """The dialog's text from ``lfp_desktop.about.about_info()`` and the loaded models."""
    libs = ", ".join(f"{escape(k)} {escape(v or 'not installed')}" for k, v in info["libraries"].items())
    rows = "".join(f"<li>{escape(m.name)}: {m.size} px, {m.key_len}-bit keys, {m.n_users} users<br>"
                   f"<small>checkpoint SHA-256 {m.checkpoint_sha256}</small></li>" for m in models)
    return (f"<h2>{escape(info['name'])} {escape(info['version'])}</h2><p>{METHOD}</p>"
            f"<p><b>Loaded models</b></p><ul>{rows or '<li>none</li>'}</ul>"
            f"<p><b>Workers:</b> {escape(', '.join(devices) or 'none')} &nbsp; <b>Engine device:</b> "
            f"{escape(info['device'])}<br><b>Settings:</b> {escape(str(config_dir()))}<br>"
            f"<b>Cases and data:</b> {escape(str(data_dir()))}<br>"
            f"<b>User guide:</b> <a href='{escape(info['user_guide_url'])}'>README, user guide</a></p>"
            f"<p><small>Python {escape(info['python'])} on {escape(info['platform'])}, Qt {escape(info['qt'] or '?')}; "
            f"{libs}. Works offline; files from users are read as data, never run.</small></p>")


class AboutDialog(QDialog):
    def __init__(self, models: list[ModelInfo], devices: list[str], parent: QWidget | None = None):
        from lfp_desktop.about import about_info

        super().__init__(parent)
        self.setWindowTitle("About LFP Desktop")
        self.label = QLabel(about_html(about_info(), models, devices))
        self.label.setWordWrap(True)
        self.label.setOpenExternalLinks(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addWidget(buttons)
        self.resize(600, 460)
