"""Issue 11 point 8: the periodic sweep removes temporary files aborted work left behind, and
never one younger than the threshold (it may belong to a push or fetch in flight)."""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from dulwich.objects import Blob
from dulwich.pack import write_pack_objects

from accounts.principal import Principal
from accounts.selectors import api_key_by_raw
from accounts.services import org_create
from repos import storage
from repos.quarantine import QUARANTINE_PREFIX
from repos.services import repository_create
from tests.support.gitcli import git
from workers.tasks import sweep_repository_temp_files

pytestmark = pytest.mark.django_db
HOUR = 3600


def _age(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)
    return path


def _aborted_add_pack(repo) -> Path:
    """What an import killed while fetching a first (self-contained) pack leaves."""
    before = set((Path(repo.object_store.pack_dir)).iterdir())
    pack_file, _commit, _abort = repo.object_store.add_pack()
    pack_file.write(b"PACK" + os.urandom(4096))
    pack_file.close()  # the process dies: neither commit nor abort runs
    (made,) = set(Path(repo.object_store.pack_dir).iterdir()) - before
    return made


def _aborted_thin_pack(repo) -> Path:
    """What dulwich's add_thin_pack leaves when its input stops mid-pack."""
    before = set(Path(repo.object_store.path).iterdir())
    data = io.BytesIO()
    write_pack_objects(data.write, [(Blob.from_string(os.urandom(8192)), None)],
                       object_format=repo.object_format)
    cut = io.BytesIO(data.getvalue()[: len(data.getvalue()) // 2])
    with pytest.raises(Exception):  # noqa: B017 - whichever error dulwich raises on a short pack
        repo.object_store.add_thin_pack(cut.read, None)
    (made,) = set(Path(repo.object_store.path).iterdir()) - before
    return made


def _quarantine(repo, *, inner_age: float) -> Path:
    path = Path(tempfile.mkdtemp(prefix=QUARANTINE_PREFIX, dir=repo.object_store.path))
    (path / "pack").mkdir()
    (path / "pack" / "tmp_pack_x").write_bytes(os.urandom(1024))
    _age(path / "pack" / "tmp_pack_x", inner_age)
    _age(path / "pack", 2 * HOUR)
    return _age(path, 2 * HOUR)


@pytest.fixture
def disk_repo(tmp_path):
    org, master = org_create(name="Acme")
    repo = repository_create(principal=Principal(key=api_key_by_raw(raw=master)), slug="app")
    work = tmp_path / "w"
    git("init", str(work), home=tmp_path)
    (work / "f.txt").write_text("content\n")
    git("add", ".", cwd=work, home=tmp_path)
    git("commit", "-m", "one", cwd=work, home=tmp_path)
    git("push", str(repo.disk_path), "main", cwd=work, home=tmp_path)
    return repo


def test_the_sweep_removes_old_temporary_files_and_keeps_fresh_ones(disk_repo, tmp_path):
    path = disk_repo.disk_path
    with storage.open_repo(path) as repo:
        old = [_age(_aborted_add_pack(repo), 2 * HOUR), _age(_aborted_thin_pack(repo), 2 * HOUR),
               _quarantine(repo, inner_age=2 * HOUR),
               _age(_write(path / "objects" / "incoming-spool1"), 2 * HOUR),
               _age(_write(path / "refs" / "heads" / "main.lock"), 2 * HOUR)]
        fresh = [_age(_aborted_add_pack(repo), HOUR - 120), _aborted_thin_pack(repo),
                 _quarantine(repo, inner_age=60),  # old directory, but a pack is still arriving
                 _write(path / "objects" / "incoming-spool2"),
                 _write(path / "refs" / "heads" / "other.lock")]
    kept = sorted(p for p in path.rglob("*") if not any(p == o or o in p.parents for o in old))
    assert settings.COREGIT_TEMP_FILE_MAX_AGE == HOUR

    result = sweep_repository_temp_files.apply().get()

    assert result == {"repositories": 1, "removed": len(old)}
    assert [p for p in old if os.path.lexists(p)] == []
    assert all(p.exists() for p in fresh)
    assert sorted(path.rglob("*")) == kept  # nothing else was touched
    fsck = git("fsck", "--strict", cwd=path, home=tmp_path, check=False)
    assert fsck.returncode == 0, fsck.stderr
    assert b"content" in git("show", "main:f.txt", cwd=path, home=tmp_path).stdout


def test_the_sweep_runs_on_the_beat_schedule():
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values()
               if e["task"] == sweep_repository_temp_files.name]
    assert len(entries) == 1 and entries[0]["schedule"] <= HOUR


def _write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_the_sweep_removes_the_sync_areas_leftovers_and_packs_without_index(disk_repo, tmp_path):
    from repos.tmp_sweep import SYNC_AREA
    from sync.engine import tracking

    assert SYNC_AREA == tracking.AREA
    path = disk_repo.disk_path
    area, packs = path / tracking.AREA, path / "objects" / "pack"
    git("repack", "-a", "-d", cwd=path, home=tmp_path)
    (published,) = packs.glob("pack-*.pack")
    for done in (published, published.with_suffix(".idx")):  # an old pack with its index stays
        _age(done, 2 * HOUR)
    old = [_age(_write(area / "refs" / "sync" / "cfg1" / "remote.lock"), 2 * HOUR),
           _age(_write(area / "shallow.abc123.tmp"), 2 * HOUR),
           _age(_write(packs / ("pack-" + "1" * 40 + ".pack")), 2 * HOUR)]  # index never came
    fresh = [_write(area / "refs" / "sync" / "cfg2" / "remote.lock"),
             _write(area / "shallow.def456.tmp"),
             _write(packs / ("pack-" + "2" * 40 + ".pack"))]  # its index may be on the way
    kept = sorted(p for p in path.rglob("*") if p not in old)

    result = sweep_repository_temp_files.apply().get()

    assert result == {"repositories": 1, "removed": len(old)}
    assert [p for p in old if os.path.lexists(p)] == []
    assert all(p.exists() for p in fresh) and published.exists()
    assert sorted(path.rglob("*")) == kept
    for young in fresh[2:]:
        young.unlink()  # git would refuse a pack without its index
    fsck = git("fsck", "--strict", cwd=path, home=tmp_path, check=False)
    assert fsck.returncode == 0, fsck.stderr
    assert b"content" in git("show", "main:f.txt", cwd=path, home=tmp_path).stdout
