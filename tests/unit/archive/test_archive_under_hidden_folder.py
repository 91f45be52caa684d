"""An archive may live under a hidden folder (the demo writes to `.scratch/demo/archive`): only
hidden or temp parts below the archive's root are skipped."""

from __future__ import annotations

from tendencias.archive.files import archive_files, require_archive


def test_an_archive_under_a_hidden_folder_is_read_and_its_temp_files_are_not(tmp_path):
    root = tmp_path / ".scratch" / "demo" / "archive"
    (root / "trends").mkdir(parents=True)
    kept = root / "trends" / "trends-00000-of-00001.jsonl"
    kept.write_text('{"kind": "term"}\n')
    (root / "trends" / "beam-temp-trends-1").mkdir()
    (root / "trends" / "beam-temp-trends-1" / "part.jsonl").write_text("{}\n")
    (root / "trends" / ".partial.jsonl").write_text("{}\n")
    assert archive_files(root, "trends") == [kept]
    assert require_archive(root) == root
