"""The in-memory remote hands the sandbox a read exactly as requests would send it.

``MemoryRemote`` builds a GET's path, query and headers itself (``read_request``) instead
of through ``requests.Request(...).prepare()``; these tests hold the two equal for any
query a client could send, so the shortcut cannot change what the sandbox sees.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lapor_sync.sandbox.memory_remote import _prepared_request, read_request

KEYS = st.text(min_size=1, max_size=12).filter(lambda k: "\x00" not in k)
VALUES = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.text(max_size=20, alphabet=st.characters(blacklist_categories=["Cs"])),
    st.sampled_from(["", " ", "a&b=c", "+1", "100%", "2026-12-04T08:00:00+07:00", "é💊"]),
)
PATHS = st.sampled_from(
    ["/api/complaints", "/api/complaints/12/followups", "/api/a b/ü", "/api/x?page=2"]
)


@given(
    path=PATHS,
    params=st.one_of(st.none(), st.dictionaries(KEYS, VALUES, max_size=5)),
    headers=st.dictionaries(
        st.sampled_from(["X-Api-Key", "Accept", "X-Instansi"]),
        st.text(alphabet="abcXYZ012-", min_size=1, max_size=8),
    ),
)
def test_a_read_is_what_requests_would_send(path, params, headers):
    url = f"http://127.0.0.1:9{path}"
    assert read_request(url, params, headers) == _prepared_request(
        "GET", url, params, None, None, headers
    )


def test_examples_the_sandbox_parses():
    path, query, body, headers = read_request(
        "http://127.0.0.1:9/api/complaints",
        {"page": 2, "updated_from": "2026-12-04T08:00:00+07:00", "q": None, "cari": "a&b"},
        {"X-Api-Key": "k"},
    )
    assert path == "/api/complaints"
    assert query == {"page": "2", "updated_from": "2026-12-04T08:00:00+07:00", "cari": "a&b"}
    assert body == b""
    assert headers == {"x-api-key": "k"}
