"""The pictures in notebook HTML outputs: ``<img>`` tags whose ``src`` is a base64 SVG data URI
(graphkit.utils.graphviz.svg_html), decoded back to their attributes and SVG text."""
import base64
import html as html_lib
import re

_IMG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'\s([\w-]+)="([^"]*)"')
DATA_URI = "data:image/svg+xml;base64,"


def svg_pictures(html: str) -> list[tuple[dict, str]]:
    """(the img tag's attributes, the SVG it shows) for every SVG data-URI image in ``html``."""
    pictures = []
    for tag in _IMG.findall(html):
        attributes = {name: html_lib.unescape(value) for name, value in _ATTRIBUTE.findall(tag)}
        if attributes.get("src", "").startswith(DATA_URI):
            pictures.append((attributes, base64.b64decode(attributes["src"][len(DATA_URI):]).decode("utf-8")))
    return pictures


def only_svg_picture(html: str) -> tuple[dict, str]:
    """The one SVG picture of ``html`` (asserts there is exactly one and no inline ``<svg>``)."""
    pictures = svg_pictures(html)
    assert len(pictures) == 1 and "<svg" not in html, html[:300]
    return pictures[0]
