"""A sync with nothing to do, told without fetching or the repository library.

Most syncs find every ref already equal on both sides. This check asks the remote for its
codev refs with one ``git ls-remote`` (no fetch, no pack negotiation) while ``git cat-file``
checks the local tips, and reads the local refs and the private mirror from files. Only
when all three agree exactly (the same refs with the same targets, every name one ``git
codev`` writes, every target a commit, no pile of loose refs to pack) is the answer "already
in sync", which the full cycle (:func:`codev_git.sync.exchange.sync`) would give too: its
fetch would move nothing, its merge take nothing in, its push find nothing ahead. Anything
else raises :class:`NotHere` having written nothing, and the full cycle runs (after one
listing of the remote, a few milliseconds on a fast link).
"""

from __future__ import annotations

from codev_git import config
from codev_git.layout import MIRROR_ROOT, SHARED_PREFIXES, is_shared_ref, mirror_prefix
from codev_git.store.lite import NotHere, Repo
from codev_git.store.porcelain import clean_env, listed_refs
from codev_git.store.values import LOOSE_REFS_LIMIT, parse_git_int
from codev_git.sync.values import EVERYTHING, SyncReport, chosen_remote

# the one repository extension read here as the full cycle reads it; any other (how refs
# or objects are stored, a partial clone that libgit2 cannot open): the full cycle decides
READ_EXTENSIONS = frozenset({"extensions.worktreeconfig"})


def nothing_to_do(repo: Repo, remote: str | None, dry_run: bool) -> SyncReport:
    """The report of a sync of ``remote`` (None: the default) that finds nothing to do, or
    :class:`NotHere`."""
    settings = repo.config()
    if any(key.startswith("extensions.") and key not in READ_EXTENSIONS for key in settings):
        raise NotHere("a repository extension")
    try:  # the full cycle refuses a malformed one before anything else
        parse_git_int(settings.get(config.SYNC_ATTEMPTS.name.lower(), "1"))
    except ValueError:
        raise NotHere("a malformed number of attempts") from None
    if repo.has_hook("reference-transaction", settings):  # the fetch runs it, moving nothing
        raise NotHere("a reference-transaction hook: the full cycle's fetch runs it")
    if repo.housekeeping_due(settings):
        raise NotHere("the full cycle's fetch ends with git's housekeeping, due now")
    name = chosen_remote(remote, repo.head_branch(), settings.get)
    # the remote answers while the refs here are read and checked; never a prompt for a
    # password: a remote that needs one is left to the full cycle, which asks. Neither the
    # terminal nor a password program (GIT_ASKPASS, core.askPass, SSH_ASKPASS: git asks
    # none of them when the first is empty)
    quiet = clean_env({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": ""})
    listing = repo.start_git("ls-remote", name, *EVERYTHING.patterns(), env=quiet)
    # every remote's mirror: the full cycle counts their loose refs too
    walked = (*SHARED_PREFIXES, MIRROR_ROOT)
    refs, loose = repo.refs_under(walked)
    local = {
        r: oid for r, oid in refs.items() if r.startswith(SHARED_PREFIXES) and is_shared_ref(r)
    }
    # the full cycle's fetch fails on any ref whose object is missing (git checks them all)
    mine = sorted(set(local.values()))
    others = sorted((repo.other_tips(walked) | set(refs.values())) - set(mine))
    kinds = repo.object_kinds([*mine, *others])
    answers, (code, out) = kinds(), listing()
    if code != 0:
        raise NotHere("the remote cannot be listed: the full cycle says why")
    if loose > LOOSE_REFS_LIMIT:
        raise NotHere("many loose refs: the full cycle packs them")
    theirs = {
        ref: oid
        for ref, oid in listed_refs(out.decode("utf-8", "surrogateescape")).items()
        if EVERYTHING.wants(ref)
    }
    held = mirror_prefix(name)
    mirror = {"refs/" + r[len(held) :]: oid for r, oid in refs.items() if r.startswith(held)}
    if "missing" in answers[len(mine) :]:
        raise NotHere("a ref whose object is missing: the full cycle's fetch fails")
    if any(kind != "commit" for kind in answers[: len(mine)]) or not theirs == local == mirror:
        raise NotHere("something to fetch, merge, push or warn about")
    return SyncReport(name, dry_run, attempts=1)
