"""Remote content of synced mail held back for real, through the real sync from Dovecot:
in the message as its owner sees it until **Show images**, in its chatter copy on a
contact (which every reader of the contact sees, with no Show images), and attachments a
browser would render as a page served as downloads by Odoo's own routes."""

import base64
import secrets
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo.tests import HttpCase, tagged

from ..devstack.testkit import remote_addresses
from .common import StackHttpMixin
from .test_sync import BOB, ServerFoldersMixin

PIXEL = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
# one of each construct that loads from elsewhere, in the spellings that got past a
# regular expression
HOSTILE_HTML = (
    "<p>Dear customer, <a href='https://shop.test/offer'>the offer</a></p>"
    "<img src='https:tracker.test/no-slashes.gif'>"
    '<img title=" src=\'https://harmless.test/\'" src="https://tracker.test/decoy.gif">'
    "<img src='&#104;ttps://tracker.test/entity.gif'>"
    "<IMG SRC=' //TRACKER.TEST/UPPER.GIF '>"
    "<img srcset='https://tracker.test/1.png 1x, https://tracker.test/2.png 2x'>"
    "<video src='https://tracker.test/v.mp4' poster='https://tracker.test/poster.jpg'>"
    "<source src='https://tracker.test/s.mp4'><track src='https://tracker.test/t.vtt'></video>"
    "<audio src='https://tracker.test/a.mp3'><source src='//tracker.test/a.ogg'></audio>"
    "<picture><source srcset='https://tracker.test/p.webp'></picture>"
    "<input type='image' src='https://tracker.test/button.png'>"
    "<table background='https://tracker.test/bg.png'><tr><td>cell</td></tr></table>"
    "<p style=\"color:red;background:url( 'https://tracker.test/bg.png' )\">styled</p>"
    "<svg><image href='https://tracker.test/svg.png'/><use xlink:href='https://tracker.test/u.svg#i'/></svg>"
    "<iframe src='https://tracker.test/frame'></iframe><object data='https://tracker.test/o'></object>"
    "<link rel='stylesheet' href='https://tracker.test/s.css'><style>@import 'https://tracker.test/i.css';</style>"
    f"<img src='cid:logo@shop.test' alt='logo'><img src='{PIXEL}' alt='pixel'>"
)


def tracked_message(subject, attachments=(), html=HOSTILE_HTML):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Lead <lead@customer.test>", BOB, subject
    msg["Message-ID"] = f"<{secrets.token_hex(8)}@customer.test>"
    msg.set_content("Dear customer, the offer.")
    msg.add_alternative(html, subtype="html")
    for name, maintype, subtype, data in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


@tagged("post_install", "-at_install")
class TestRemoteContent(ServerFoldersMixin, StackHttpMixin, HttpCase):
    """Ann's mailbox gets mail from a customer whose contact every user reads."""

    def setUp(self):
        super().setUp()
        self.contact = self.env["res.partner"].create({"name": "Customer", "email": "lead@customer.test"})

    def synced(self, raw):
        mailbox = self.mailbox(self.folder((raw, 0)))
        self.sync(mailbox)
        (stored,) = self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)])
        return stored

    def body_as(self, user, model, record_id, field="body"):
        """What ``user`` reads of the HTML field over XML-RPC (what the web client shows)."""
        (row,) = self.call(user, model, "read", [record_id], [field])
        return row[field]

    def test_remote_content_is_held_back_in_the_message_and_in_its_chatter_copy(self):
        stored = self.synced(tracked_message("Tracked offer"))
        body = self.body_as(self.user_ann, "mail.mailbox.message", stored.id)
        self.assertEqual(remote_addresses(body), [])
        self.assertNotIn("tracker.test", body)
        for kept in ("https://shop.test/offer", "cid:logo@shop.test", PIXEL, "Dear customer", "styled", "cell"):
            self.assertIn(kept, body)  # links, inline and data images, the text
        (held,) = self.call(self.user_ann, "mail.mailbox.message", "read", [stored.id], ["blocked_images"])
        # said to the reader: what the sanitizer left that would load (it drops frames,
        # objects, style sheets, srcset, poster and background itself)
        self.assertGreaterEqual(held["blocked_images"], 10)

        # the copy on the contact: read by a colleague, nothing loads; it says why and
        # where the owner sees the rest
        (copy,) = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.contact.id), ("mcm_message_id", "=", stored.id)]
        )
        for reader in (self.user_ben, self.user_ann):
            shown = self.body_as(reader, "mail.message", copy.id)
            # (a data: image of a chatter message is stored by Odoo as its attachment)
            self.assertEqual(remote_addresses(shown, ("cid:", "data:", "#", "/web/image/")), [], reader.login)
            self.assertNotIn("tracker.test", shown)
            self.assertIn("https://shop.test/offer", shown)
            self.assertIn("were held back in this copy", shown)
            self.assertIn(f"/odoo/mail.mailbox.message/{stored.id}", shown)
        # only the owner opens the synced message
        self.assertTrue(self.call(self.user_ann, "mail.mailbox.message", "search", [("id", "=", stored.id)]))
        self.assertFalse(self.call(self.user_ben, "mail.mailbox.message", "search", [("id", "=", stored.id)]))

        # Show images: the owner's message shows them; the copy on the contact still not
        self.assertTrue(self.call(self.user_ann, "mail.mailbox.message", "action_show_images", [stored.id]))
        shown = self.body_as(self.user_ann, "mail.mailbox.message", stored.id)
        self.assertIn("https:tracker.test/no-slashes.gif", shown)
        self.assertIn("https://tracker.test/decoy.gif", shown)
        self.assertIn("https://tracker.test/entity.gif", shown)
        self.assertNotIn("<script", shown)  # still through the sanitizer
        copy.invalidate_recordset()
        self.assertNotIn("tracker.test", self.body_as(self.user_ben, "mail.message", copy.id))

    def test_a_message_without_remote_content_is_copied_without_a_note(self):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "lead@customer.test", BOB, "Plain offer"
        msg.set_content("text")
        msg.add_alternative("<p>Hello <a href='https://shop.test/'>shop</a></p>", subtype="html")
        stored = self.synced(msg.as_bytes())
        self.assertEqual(stored.blocked_images, 0)
        (copy,) = self.env["mail.message"].search([("mcm_message_id", "=", stored.id)])
        self.assertNotIn("held back", str(copy.body))
        self.assertIn("https://shop.test/", str(copy.body))

    def test_a_page_or_an_svg_attached_is_served_as_a_download_never_as_a_page(self):
        svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(document.cookie)</script></svg>"
        page = b"<html><body><script>alert(document.cookie)</script></body></html>"
        stored = self.synced(
            tracked_message(
                "Attached pages",
                [
                    ("page.html", "text", "html", page),
                    ("logo.svg", "image", "svg+xml", svg),
                    ("report.bin", "application", "octet-stream", svg),  # an SVG that does not say so
                    ("offer.pdf", "application", "pdf", b"%PDF-1.4 offer"),
                ],
            )
        )
        attachments = {a.name: a for a in stored.attachment_ids}
        self.assertEqual(
            {name: a.mimetype for name, a in attachments.items()},
            {
                "page.html": "text/plain",
                "logo.svg": "text/plain",
                "report.bin": "text/plain",
                "offer.pdf": "application/pdf",
            },
        )
        self.authenticate(self.user_ann.login, self.password(self.user_ann.login))
        for name, query in (
            ("page.html", ""),
            ("logo.svg", ""),
            ("page.html", "?mimetype=text/html"),  # a link that asks for a page
            ("report.bin", "?mimetype=image/svg%2Bxml"),
        ):
            with self.subTest(name=name, query=query):
                response = self.url_open(f"/web/content/{attachments[name].id}{query}")
                self.assertEqual(response.status_code, 200)
                self.assertTrue(response.headers["Content-Disposition"].startswith("attachment"))
                self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff")
                self.assertIn(name, response.headers["Content-Disposition"])  # its own name
                if not query:
                    self.assertTrue(response.headers["Content-Type"].startswith("text/plain"))
        # what a browser shows harmlessly is still shown: the PDF, the text
        response = self.url_open(f"/web/content/{attachments['offer.pdf'].id}")
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertTrue(response.headers["Content-Disposition"].startswith("inline"))
        response = self.url_open(f"/web/content/{attachments['report.bin'].id}")
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain"))


GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


class Tracker(ThreadingHTTPServer):
    """A sender's tracking server on loopback: answers every request with a pixel and
    writes down what was asked."""

    def __init__(self):
        self.hits = []
        tracker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                tracker.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Content-Length", str(len(GIF)))
                self.end_headers()
                self.wfile.write(GIF)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def host(self):
        return f"127.0.0.1:{self.server_address[1]}"


@tagged("post_install", "-at_install")
class TestRemoteContentInTheBrowser(ServerFoldersMixin, StackHttpMixin, HttpCase):
    """What the browser loads: nothing from the sender's tracker until the owner clicks
    Show images, and never from the chatter copy a colleague reads."""

    def setUp(self):
        super().setUp()
        self.tracker = Tracker()
        threading.Thread(target=self.tracker.serve_forever, daemon=True).start()
        self.addCleanup(self.tracker.server_close)
        self.addCleanup(self.tracker.shutdown)

    def test_the_browser_loads_nothing_remote_until_show_images(self):
        contact = self.env["res.partner"].create({"name": "Customer", "email": "lead@customer.test"})
        host = self.tracker.host
        html = (
            "<p>Dear customer, <a href='https://shop.test/offer'>the offer</a></p>"
            f"<img src='http://{host}/img.gif' width='10' height='10'>"
            f'<img title=" src=\'http://harmless.test/\'" src="http://{host}/decoy.gif">'
            f"<img src='&#104;ttp://{host}/entity.gif'><img srcset='//{host}/srcset.gif 1x'>"
            f"<video poster='http://{host}/poster.gif'><source src='http://{host}/v.mp4'></video>"
            f"<audio src='//{host}/a.mp3' autoplay></audio><input type='image' src='http://{host}/input.gif'>"
            f"<p style=\"background:url( 'http://{host}/bg.gif' )\">styled</p>"
            f"<svg><image href='http://{host}/svg.gif' width='5' height='5'/></svg>"
        )
        mailbox = self.mailbox(self.folder((tracked_message("Tracked offer", html=html), 0)))
        self.sync(mailbox)
        stored = self.env["mail.mailbox.message"].search([("mailbox_id", "=", mailbox.id)])
        cookies = {"mcm_tracker": host}
        self.start_tour(
            f"/odoo/res.partner/{contact.id}",
            "mail_connected_mailbox_tour_remote_content_copy",
            login=self.user_ben.login,
            cookies=cookies,
        )
        self.assertEqual(self.tracker.hits, [])  # nothing asked of the tracker yet
        self.start_tour(
            f"/odoo/action-mail_connected_mailbox.mail_mailbox_message_action_my/{stored.id}",
            "mail_connected_mailbox_tour_remote_content",
            login=self.user_ann.login,
            cookies=cookies,
        )
        self.assertTrue(stored.images_shown)
        self.assertIn("/img.gif", self.tracker.hits)  # the tracker answers when asked
