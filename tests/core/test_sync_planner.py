"""The sync planner: pure decisions from a folder's saved state and the server's STATUS."""

from mailbox_engine.sync.planner import (
    MAX_UIDVALIDITY_RESETS,
    Backfill,
    DeepScan,
    FetchChangedFlags,
    FetchNew,
    FolderState,
    FolderStatus,
    RefreshFlags,
    Remap,
    Stop,
    batches,
    plan,
)

NOW = 1_000_000.0
SYNCED = FolderState(uidvalidity=7, uidnext=101, highestmodseq=500, last_deep_scan=NOW - 10)


def test_a_folder_never_synced_is_backfilled():
    assert plan(FolderState(), FolderStatus(7, 101, 500), NOW, condstore=True, backfill_days=30) == [Backfill(30)]


def test_nothing_changed_means_nothing_to_do():
    assert plan(SYNCED, FolderStatus(7, 101, 500), NOW, condstore=True) == []


def test_new_mail_is_between_the_two_uidnext():
    assert plan(SYNCED, FolderStatus(7, 105, 500), NOW, condstore=True) == [FetchNew(101, 104)]


def test_flag_changes_by_condstore_or_by_a_bounded_refresh():
    assert plan(SYNCED, FolderStatus(7, 101, 520), NOW, condstore=True) == [FetchChangedFlags(500)]
    assert plan(SYNCED, FolderStatus(7, 101, None), NOW, condstore=False) == [RefreshFlags(100)]


def test_deletions_need_a_deep_scan_now_and_then():
    old_scan = FolderState(uidvalidity=7, uidnext=101, highestmodseq=500, last_deep_scan=NOW - 601)
    assert plan(old_scan, FolderStatus(7, 101, 500), NOW, condstore=True) == [DeepScan()]


def test_a_renumbered_folder_is_remapped_not_duplicated():
    assert plan(SYNCED, FolderStatus(8, 40, 9), NOW, condstore=True, backfill_days=60) == [Remap(7, 8), Backfill(60)]


def test_a_folder_renumbered_again_and_again_stops_with_the_reason():
    state = FolderState(uidvalidity=7, uidnext=101, resets_in_row=MAX_UIDVALIDITY_RESETS - 1)
    (action,) = plan(state, FolderStatus(8, 40), NOW, condstore=False)
    assert isinstance(action, Stop)
    assert "renumbered this folder 5 times in a row" in action.reason


def test_batches_go_newest_first_and_cover_every_uid_once():
    assert batches(1, 10, 4) == [(7, 10), (3, 6), (1, 2)]
    assert batches(5, 4, 4) == []
    covered = [uid for low, high in batches(1, 1000, 64) for uid in range(low, high + 1)]
    assert sorted(covered) == list(range(1, 1001))
