"""Remote content of a received message held back, as a mail client holds it back: an
image, a video, a style sheet or a frame loaded from the web tells the sender that (and
where, and when) the message was read, and one loaded from a relative address calls the
server that shows it, with its reader's session.

:func:`hold_back` parses the HTML with lxml (never a regular expression on the text, which
a URL without slashes, a decoy inside another attribute or an entity-encoded scheme gets
past) and removes every way it could load something:

- the elements that only exist to load or frame something (``<iframe>``, ``<object>``,
  ``<embed>``, ``<link>``, ``<base>``, ``<meta>``, ``<script>``...) and those whose text a
  browser reads differently from lxml (``<noscript>``, ``<xmp>``, ``<textarea>``...);
- every URL-bearing attribute (``src``, ``srcset``, ``poster``, ``background``, ``data``,
  ``action``, ``formaction``, ``href`` and ``xlink:href`` outside links...) unless it
  points inside the message (``cid:``, ``data:``, ``#fragment``);
- any other attribute whose value carries a URL or a CSS ``url()``;
- CSS that loads (``url()``, ``image-set()``, ``@import``...) in ``style`` attributes (the
  declaration goes) and in ``<style>`` elements (the sheet goes); comments go too.

Links (``<a href>``, ``<area href>``) stay: following one is the reader's choice, not a
load. :func:`download_only` says which attachments a browser would run or render as a page
(HTML, SVG, XML, scripts), by type or name: those are stored as plain text and served as
downloads only.
"""

import re

from lxml import etree, html

# elements that load, frame or run something by themselves, or whose content a browser
# parses as raw text where lxml sees elements (or the reverse): gone with their content
DROPPED = frozenset(
    {
        "applet",
        "base",
        "embed",
        "frame",
        "frameset",
        "iframe",
        "link",
        "meta",
        "noembed",
        "noframes",
        "noscript",
        "object",
        "plaintext",
        "portal",
        "fencedframe",
        "script",
        "textarea",
        "title",
        "xmp",
        # SVG animation can set an href to a remote address after the filter looked
        "animate",
        "animatecolor",
        "animatemotion",
        "animatetransform",
        "set",
        "discard",
    }
)
# attributes whose value is an address the browser loads: kept only when it points
# inside the message
URL_ATTRIBUTES = frozenset(
    {
        "action",
        "archive",
        "attributionsrc",
        "background",
        "classid",
        "codebase",
        "data",
        "dynsrc",
        "formaction",
        "href",
        "icon",
        "imagesrcset",
        "longdesc",
        "lowsrc",
        "manifest",
        "ping",
        "poster",
        "profile",
        "src",
        "srcdoc",
        "srcset",
    }
)
SRCSET = frozenset({"srcset", "imagesrcset"})
LINKS = frozenset({"a", "area"})  # their href is followed on a click, never loaded
LOCAL = ("cid:", "data:", "#")  # an inline part, inline data, a place in the message
# a URL anywhere in a value: a scheme that fetches, or two slashes (protocol-relative;
# a backslash counts as a slash for browsers), or a CSS url() that is not a #fragment
URL_IN_VALUE = re.compile(r"(?:https?|ftp|wss?|file|gopher)\s*:|[/\\]{2}|url\s*\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
# CSS that loads something, found once escapes and comments are gone
CSS_LOADS = (
    "url(",
    "image(",
    "image-set(",
    "cross-fade(",
    "element(",
    "src(",
    "@import",
    "expression(",
    "behavior",
    "binding",
    "http:",
    "https:",
    "//",
    "\\\\",
)
CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\r\n\f]?|\\(.)", re.DOTALL)
CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
URL_SPACE = re.compile(r"[\t\n\r]")  # what a browser removes from inside an address
EDGE = "".join(chr(c) for c in range(0x21))  # what it strips at both ends

# attachment types a browser runs or renders as a page on the site that serves them
PAGE_TYPES = re.compile(r"ht|svg|script|css|xsl|^message/|^multipart/", re.IGNORECASE)
PAGE_EXTENSIONS = frozenset(
    {"htm", "html", "shtml", "xhtml", "xht", "mht", "mhtml", "hta", "svg", "svgz", "xml", "xsl", "xslt", "js", "mjs"}
)
AS_TEXT = "text/plain"  # what Odoo's own mail gateway stores such parts as


def _css_text(text):
    """CSS as a browser reads it for what matters here: escapes decoded, comments gone,
    lower case, no white space."""

    def unescape(match):
        if match.group(1):
            code = int(match.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
        return match.group(2)

    text = CSS_COMMENT.sub("", CSS_ESCAPE.sub(unescape, text or ""))
    return re.sub(r"\s+", "", text).lower()


def css_loads(text):
    """Whether this CSS (a style sheet or a ``style`` attribute) loads anything."""
    found = _css_text(text)
    return any(marker in found for marker in CSS_LOADS)


def _address(value):
    return URL_SPACE.sub("", (value or "").strip(EDGE)).lower()


def is_local(value):
    """Whether an address points inside the message (an inline part, inline data, a place
    in it); anything else (another scheme, ``//host``, a relative address) is remote."""
    return _address(value).startswith(LOCAL)


def _srcset_local(value):
    """Whether every candidate of a ``srcset`` is local (any token that is not a width
    or density descriptor counts as an address)."""
    for word in (value or "").split():
        token = word.strip(",")
        if token and not re.fullmatch(r"[0-9.]+[wxh]", token.lower()) and not is_local(token):
            return False
    return True


def _strip_style(value):
    """``value`` without the declarations that load something (None: nothing left)."""
    kept = [part for part in value.split(";") if part.strip() and not css_loads(part)]
    rest = ";".join(kept)
    if not rest.strip() or css_loads(rest):
        return None
    return rest


def _holds_back(tag, name, value):
    """Whether attribute ``name`` of element ``tag`` with ``value`` would load something."""
    local_name = name.rsplit(":", 1)[-1].rsplit("}", 1)[-1].lower()
    if local_name == "href" and tag in LINKS:
        return False  # a link: followed by choice, not loaded
    if local_name in SRCSET:
        return not _srcset_local(value)
    if local_name in URL_ATTRIBUTES:
        return bool(value.strip(EDGE)) and not is_local(value)
    if local_name.startswith("on"):
        return False  # not about loading (the sanitizer takes event handlers away)
    return bool(URL_IN_VALUE.search(URL_SPACE.sub("", value))) or (
        "\\" in value and bool(URL_IN_VALUE.search(_css_text(value)))
    )


def _filter(root):
    """Hold back in place what would load below ``root``; return how many things were
    held back (the content of a dropped element is not looked at, nor counted)."""
    held = 0
    for node in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        _drop(node)
    todo = list(root)
    while todo:
        element = todo.pop()
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in DROPPED or (tag == "style" and (css_loads(element.text) or "<" in (element.text or ""))):
            _drop(element)
            held += 1
            continue
        for name, value in list(element.attrib.items()):
            if name.lower() == "style":
                rest = _strip_style(value) if css_loads(value) else value
                if rest is None:
                    del element.attrib[name]
                elif rest != value:
                    element.attrib[name] = rest
                held += rest != value
            elif _holds_back(tag, name, value):
                del element.attrib[name]
                held += 1
        todo.extend(element)
    return held


def _drop(node):
    """Remove ``node`` and its content, keeping the text that follows it."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def hold_back(source):
    """``(html, held)``: ``source`` with everything that would load from elsewhere held
    back, and how many things were; what is left is re-serialized by lxml (so the browser
    parses what was checked)."""
    if not source or not source.strip():
        return source or "", 0
    # what a browser takes for the end of a comment (as Odoo's sanitizer does)
    text = source.replace("--!>", "-->")
    text = re.sub(r"(<!-->|<!--->)", "<!-- -->", text)
    try:
        root = html.fromstring(text)
    except (etree.ParserError, ValueError):
        return "", 1  # nothing lxml can read is shown
    wrapper = html.Element("div")
    wrapper.append(root)  # so that the root itself can be dropped
    held = _filter(wrapper)
    if root.tag == "div" and root.getparent() is wrapper and not root.attrib and len(wrapper) == 1:
        out = html.tostring(root, encoding="unicode")
        # lxml wraps a fragment in a div of its own: as Odoo's sanitizer does, leave it out
        if out.startswith("<div>") and out.endswith("</div>"):
            out = out[5:-6]
    else:
        out = (wrapper.text or "") + "".join(html.tostring(child, encoding="unicode") for child in wrapper)
    return out, held


def download_only(mimetype, name=""):
    """Whether an attachment of type ``mimetype`` named ``name`` is something a browser
    would run or render as a page (HTML, SVG, XML, scripts, style sheets, archives of
    web pages) if served inline: those are served as downloads."""
    kind = (mimetype or "").split(";", 1)[0].strip().lower()
    if "/" not in kind:
        return True
    if PAGE_TYPES.search(kind) or ("xml" in kind and "openxmlformats" not in kind):
        return True
    extension = (name or "").rsplit(".", 1)[-1].strip().lower() if "." in (name or "") else ""
    return extension in PAGE_EXTENSIONS


def stored_mimetype(mimetype, name=""):
    """The type to store an attachment of a received message under: its own, unless a
    browser would run or render it as a page (then plain text, never rendered, and served
    as a download)."""
    return AS_TEXT if download_only(mimetype, name) else mimetype.split(";", 1)[0].strip().lower()
