import datetime
import uuid

from runinput import receive
from runinput.models import FlowRunInput
from runinput.receive import FetchRequest, InputFeed

RUN_ID = uuid.UUID("6f1f0c9e-0000-4000-8000-000000000002")
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def stored(key: str, second: int) -> FlowRunInput:
    return FlowRunInput(
        flow_run_id=RUN_ID,
        key=key,
        value="{}",
        created=START + datetime.timedelta(seconds=second),
    )


def drain(feed: InputFeed) -> list[str]:
    keys = []
    while (item := feed.pop()) is not None:
        keys.append(item.key)
    return keys


def test_feed_first_request_excludes_given_keys() -> None:
    feed = InputFeed("n-auto", exclude_keys={"n-auto-1"})

    (request,) = feed.fetch_requests()

    assert request.key_prefix == "n-auto"
    assert request.exclude_keys == ["n-auto-1"]
    assert request.limit == receive.BATCH_SIZE


def test_feed_delivers_in_creation_order() -> None:
    feed = InputFeed("n-auto")
    (request,) = feed.fetch_requests()

    feed.accept(request, [stored("n-auto-a", 1), stored("n-auto-b", 2)])

    assert drain(feed) == ["n-auto-a", "n-auto-b"]


def test_feed_next_request_excludes_fetched_keys() -> None:
    feed = InputFeed("n-auto")
    (request,) = feed.fetch_requests()
    feed.accept(request, [stored("n-auto-a", 1)])
    drain(feed)

    (second,) = feed.fetch_requests()

    assert second.exclude_keys == ["n-auto-a"]


def test_feed_skips_keys_matched_only_by_like() -> None:
    # SQL LIKE treats `_` as a wildcard and SQLite ignores case.
    feed = InputFeed("my_input-auto")
    (request,) = feed.fetch_requests()

    feed.accept(
        request,
        [stored("myXinput-auto-1", 1), stored("MY_INPUT-auto-2", 2)],
    )

    assert drain(feed) == []
    (second,) = feed.fetch_requests()
    assert second.exclude_keys == ["MY_INPUT-auto-2", "myXinput-auto-1"]


def test_feed_never_delivers_key_twice() -> None:
    feed = InputFeed("n-auto")
    (request,) = feed.fetch_requests()
    feed.accept(request, [stored("n-auto-a", 1)])
    drain(feed)
    (second,) = feed.fetch_requests()

    feed.accept(second, [stored("n-auto-a", 1), stored("n-auto-b", 2)])

    assert drain(feed) == ["n-auto-b"]


def test_feed_full_batch_is_not_drained() -> None:
    feed = InputFeed("n-auto")
    request = FetchRequest("n-auto", [], limit=2)

    feed.accept(request, [stored("n-auto-a", 1), stored("n-auto-b", 2)])
    drain(feed)

    assert feed.needs_fetch() is True


def test_feed_splits_prefix_past_threshold(monkeypatch) -> None:
    monkeypatch.setattr(receive, "SPLIT_THRESHOLD", 4)
    feed = InputFeed("n-auto")
    keys = [f"n-auto-{uuid.UUID(int=i * 2**124)}" for i in range(6)]
    (request,) = feed.fetch_requests()

    feed.accept(request, [stored(key, i) for i, key in enumerate(keys)])

    assert feed.partition_count == 17
    assert drain(feed) == keys
    requests = feed.fetch_requests()
    assert {r.key_prefix for r in requests} == {
        f"n-auto-{char}" for char in "0123456789abcdef-"
    }
    excluded = sorted(key for r in requests for key in r.exclude_keys)
    assert excluded == sorted(keys)


def test_feed_merges_partitions_oldest_first(monkeypatch) -> None:
    monkeypatch.setattr(receive, "SPLIT_THRESHOLD", 2)
    feed = InputFeed("n-auto")
    (request,) = feed.fetch_requests()
    feed.accept(
        request,
        [stored("n-auto-0a", 1), stored("n-auto-1a", 2), stored("n-auto-0b", 3)],
    )
    drain(feed)

    answers = {
        "n-auto-0": [stored("n-auto-0c", 6)],
        "n-auto-1": [stored("n-auto-1b", 5)],
    }
    for fetch in feed.fetch_requests():
        feed.accept(fetch, answers.get(fetch.key_prefix, []))

    assert drain(feed) == ["n-auto-1b", "n-auto-0c"]


def test_feed_refills_only_undrained_partitions(monkeypatch) -> None:
    monkeypatch.setattr(receive, "SPLIT_THRESHOLD", 3)
    feed = InputFeed("n-auto")
    (request,) = feed.fetch_requests()
    first = ["n-auto-0a", "n-auto-1a", "n-auto-0b", "n-auto-1b"]
    feed.accept(request, [stored(key, i) for i, key in enumerate(first)])
    drain(feed)
    assert feed.refill_polls_all() is True

    for fetch in feed.fetch_requests():
        if fetch.key_prefix == "n-auto-0":
            # A full batch of one, so this partition may hold more.
            full = FetchRequest(fetch.key_prefix, fetch.exclude_keys, limit=1)
            feed.accept(full, [stored("n-auto-0c", 5)])
        else:
            feed.accept(fetch, [])

    assert drain(feed) == ["n-auto-0c"]
    assert feed.refill_polls_all() is False
    assert [r.key_prefix for r in feed.fetch_requests()] == ["n-auto-0"]
