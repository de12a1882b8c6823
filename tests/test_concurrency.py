"""Many readers at once: one signature per person, and nobody sees an error."""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request

from sqlalchemy import func, select

from petition.extensions import db
from petition.models import OutboxMessage, Signature
from tests.factories import SLUG, form_token, send_all_mail, signer
from tests.parts import LiveServer


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def post_form(url: str, fields: dict[str, str], origin: str) -> int:
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=data, headers={"Origin": origin})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_twenty_simultaneous_submissions_of_one_address_make_one_signature(app):
    variants = [
        "Grace.Hopper@gmail.com",
        "gracehopper@gmail.com",
        "GRACEHOPPER@GMAIL.COM",
        "grace.hopper+petition@googlemail.com",
        "g.r.a.c.e.hopper+{}@gmail.com",
    ]
    addresses = [variants[i % len(variants)].format(i) for i in range(20)]
    token = form_token(app.test_client())
    barrier = threading.Barrier(len(addresses))
    codes: list[int] = []

    with LiveServer(app) as server:
        url = f"{server.url}/petitions/{SLUG}/sign"

        def submit(address: str) -> None:
            fields = {**signer(email=address), "form_token": token}
            barrier.wait()
            codes.append(post_form(url, fields, server.url))

        threads = [threading.Thread(target=submit, args=(a,)) for a in addresses]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert codes == [303] * 20
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
    send_all_mail(app)  # the owner is told, at most three times
    with app.app_context():
        kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert sorted(kinds) == ["already_signed"] * 3 + ["confirm"]
