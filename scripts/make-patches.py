#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The qemu-snp authors
"""The patch series a QEMU maintainer reads, made from what we build.

    make-patches.py make LINE     write build/patches/qemu-LINE/NNNN-*.patch
    make-patches.py check LINE    TAP: checkpatch, git am, no drift

The series is described by subprojects/packagefiles/upstream/series: its
commits in order, each a file with the commit message, then "---" and
what goes into it:

    hunks PATCH [PATH [REGEX | !REGEX]]
        the hunks of hook patch PATCH (of this QEMU line), all of them or
        those of PATH, or those of PATH whose changed lines match REGEX
        (a Python regular expression), or do not;
    overlay PATH...
        files of the overlay (subprojects/packagefiles/overlay), named by
        their path in this repository: a file, or a directory for its
        files that no other commit names;
    file REPO-PATH QEMU-PATH
        a file of this repository that QEMU's tree does not link in
        (test data).

Every hunk of the line's hook patches and every overlay file must be in
exactly one commit or excluded by an "exclude GLOB" line of the series
(test-only code, what QEMU's build never compiles), or, for the series of
QEMU X.Y and later lines, by an "exclude-since X.Y GLOB" line (what only
older lines build: the shims of the product's own lines): anything else
is an error, so that the series cannot silently lose what we build.
Lines between "not in QEMU's copy: begin" and "...: end" (in comments),
and a line ending in "not in QEMU's copy" (or in a C comment ending so),
are dropped from overlay files: the parts of libsevsnp that only its
standalone build has (the X.509 side: snp-certs, the tests).  Likewise,
for the series of QEMU X.Y and later, lines between "before QEMU X.Y:
begin" and "...: end", and a line ending in "before QEMU X.Y"; the
begin and end lines themselves are dropped from every line's series.

A commit that adds files also lists them in MAINTAINERS (a section of
its own after "X86 KVM CPUs"), as QEMU's checkpatch.pl asks.  A commit
with nothing in it for a line (a hook patch that line does not have) is
left out of that line's series.

The repository the series is made in (build/patches/qemu-LINE.git) holds,
as its first commit, the files of build/qemu-LINE/src that the series
changes, as fetched: the patches are what a repository of the whole
source gives, and "make patches-build" applies them to a full copy.
"""

import fnmatch
import os
import re
import shutil
import subprocess
import sys

TOP = os.getcwd()
BUILD = os.environ.get("BUILD", "build")
SPEC = "subprojects/packagefiles/upstream"
OVERLAY = "subprojects/packagefiles/overlay"
MARK = "not in QEMU's copy"
# "before QEMU X.Y", ": begin", ": end", in a comment.
BEFORE = re.compile(r"before QEMU ([0-9]+\.[0-9]+)(: (begin|end))?\s*(\*/)?$")
MAINT_AFTER = "X86 KVM CPUs"


class SeriesError(Exception):
    pass


def die(msg):
    raise SeriesError(msg)


def run(args, cwd=None, env=None, input=None, check=True):
    r = subprocess.run(args, cwd=cwd, env=env, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and r.returncode:
        die("%s failed (%d): %s" % (" ".join(args), r.returncode,
                                    (r.stderr + r.stdout).decode(
                                        errors="replace").strip()))
    return r


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def strip_comment(line):
    return line.split("#", 1)[0].strip()


# ---- the hook patches of a line ----

class Hunk:
    """One hunk of a hook patch, or (header None) the deletion of PATH."""

    def __init__(self, patch, path, header, lines):
        self.patch = patch
        self.path = path
        self.header = header
        self.lines = lines
        self.used_by = None

    def deletes(self):
        return self.header is None

    def changed(self):
        return [l[1:] for l in self.lines if l[:1] in "+-"]

    def __repr__(self):
        return "%s %s %s" % (self.patch, self.path,
                             "deleted" if self.deletes() else
                             self.header.strip())


def line_patches(line):
    """The hook patches of LINE in series order, each a list of Hunk."""
    d = "subprojects/packagefiles/qemu-%s" % line
    names = []
    for l in read(os.path.join(d, "series")).splitlines():
        l = strip_comment(l)
        if l:
            names.append(l)
    patches = {}
    for name in names:
        hunks = []
        path = None
        old = None
        cur = None
        for l in read(os.path.join(d, name)).splitlines(keepends=True):
            if l.startswith("diff --git "):
                path = None
                cur = None
            elif l.startswith("--- "):
                p = l[4:].strip()
                old = p[2:] if p.startswith("a/") else None
            elif l.startswith("+++ "):
                p = l[4:].strip()
                path = p[2:] if p.startswith("b/") else None
                if path is None:
                    if p != "/dev/null" or old is None:
                        die("%s: cannot read '%s'" % (name, l.strip()))
                    # A deletion (linux-headers updates have them): its
                    # removed lines need not be kept.
                    hunks.append(Hunk(name, old, None, []))
                cur = None
            elif l.startswith("@@") and path:
                cur = Hunk(name, path, l, [])
                hunks.append(cur)
            elif cur is not None and l[:1] in " +-\\":
                cur.lines.append(l)
            elif cur is not None and l.strip() == "":
                cur.lines.append(" \n")
            else:
                cur = None
        patches[name] = hunks
    return names, patches


def all_patch_names():
    names = set()
    for line in qemu_lines():
        names.update(line_patches(line)[0])
    return names


def qemu_lines():
    out = run(["sh", "scripts/qemu-lines.sh"]).stdout.decode()
    return out.split()


# ---- the overlay ----

def overlay_map():
    """[(repo path, QEMU path)] of the overlay list."""
    m = []
    for l in read(OVERLAY).splitlines():
        f = strip_comment(l).split()
        if f:
            m.append((f[0], f[1]))
    return m


def repo_files(path):
    """The files of this repository under PATH (tracked or not ignored)."""
    r = run(["git", "ls-files", "-co", "--exclude-standard", "--", path],
            check=False)
    if r.returncode == 0:
        files = [f for f in r.stdout.decode().splitlines()
                 if os.path.isfile(f)]
        return sorted(set(files))
    if os.path.isfile(path):
        return [path]
    files = []
    for root, _, names in os.walk(path):
        files += [os.path.join(root, n) for n in names]
    return sorted(files)


def overlay_files():
    """{repo file: QEMU path} of every file the overlay links in."""
    files = {}
    for src, dst in overlay_map():
        for f in repo_files(src):
            files[f] = dst + f[len(src):] if f != src else dst
    return files


def marked(line):
    """Does LINE end in MARK, or in a C comment that ends in it?"""
    end = line.rstrip()
    if end.endswith("*/"):
        end = end[:-2].rstrip()
    return end.endswith(MARK)


def before_marks(data, line):
    """DATA as the series of QEMU LINE has it: the "before QEMU X.Y"
    lines and blocks dropped for LINE >= X.Y, the markers of blocks
    dropped for every line."""
    out = []
    skip = None
    for l in data.splitlines(keepends=True):
        m = BEFORE.search(l.rstrip())
        newer = m and version_tuple(line) >= version_tuple(m.group(1))
        if m and m.group(3) == "begin":
            if skip is not None:
                die("nested 'before QEMU %s: begin'" % m.group(1))
            skip = bool(newer)
        elif m and m.group(3) == "end":
            if skip is None:
                die("'before QEMU %s: end' without a begin" % m.group(1))
            skip = None
        elif not skip and not (m and newer):
            out.append(l)
    if skip is not None:
        die("'before QEMU: begin' without an end")
    return "".join(out)


def qemu_copy(data, line):
    """An overlay file as QEMU LINE's copy has it: the marked lines
    dropped."""
    if not isinstance(data, str):
        return data
    if "before QEMU " in data:
        data = before_marks(data, line)
    if MARK not in data:
        return data
    out = []
    skip = False
    for l in data.splitlines(keepends=True):
        if MARK + ": begin" in l:
            if skip:
                die("nested '%s: begin'" % MARK)
            skip = True
        elif MARK + ": end" in l:
            if not skip:
                die("'%s: end' without a begin" % MARK)
            skip = False
        elif not skip and not marked(l):
            out.append(l)
    if skip:
        die("'%s: begin' without an end" % MARK)
    return "".join(out)


def file_data(path):
    data = read(path, "rb")
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data


# ---- the series description ----

class Commit:
    def __init__(self, name, message, directives):
        self.name = name
        self.message = message
        self.directives = directives
        self.hunks = []
        self.files = {}         # QEMU path -> repo path
        self.added = []         # QEMU paths new to the source

    def subject(self):
        return self.message.splitlines()[0]


def identity():
    """Who makes the series signs it: git's user.name and user.email
    (this repository's configuration, else the user's).  make check,
    which builds the series to test it and mails nothing, may run where
    git has none: it sets QEMU_SNP_CHECK_IDENTITY, used only then, and
    the cover letter says the series is not for mailing."""
    def cfg(key):
        r = run(["git", "-C", TOP, "config", key], check=False)
        return r.stdout.decode().strip() if r.returncode == 0 else ""
    name, email = cfg("user.name"), cfg("user.email")
    if name and email:
        return "%s <%s>" % (name, email), False
    fallback = os.environ.get("QEMU_SNP_CHECK_IDENTITY", "")
    if fallback:
        return fallback, True
    die("no git identity: the series is signed off by whoever makes it; "
        "set git config user.name and user.email")


def read_series():
    author, _ = identity()
    excludes = []
    commits = []
    for l in read(os.path.join(SPEC, "series")).splitlines():
        l = strip_comment(l)
        if not l:
            continue
        word, _, rest = l.partition(" ")
        if word == "exclude":
            excludes += [(g, None) for g in rest.split()]
        elif word == "exclude-since":
            since, _, globs = rest.partition(" ")
            if not re.match(r"^[0-9]+\.[0-9]+$", since) or not globs.split():
                die("series: exclude-since X.Y GLOB... ('%s')" % l)
            excludes += [(g, since) for g in globs.split()]
        elif word == "commit":
            name = rest.strip()
            text = read(os.path.join(SPEC, name))
            if "\n---\n" not in text:
                die("%s: no '---' line after the commit message" % name)
            msg, _, body = text.partition("\n---\n")
            dirs = [strip_comment(x).split() for x in body.splitlines()]
            commits.append(Commit(name, msg.strip() + "\n",
                                  [d for d in dirs if d]))
        else:
            die("series: unknown line '%s'" % l)
    if not re.match(r"^[^<>]+ <[^<>@]+@[^<>]+>$", author):
        die("the identity '%s' is not 'NAME <EMAIL>'" % author)
    return author, excludes, commits


def excluded(path, excludes, line):
    return any(fnmatch.fnmatchcase(path, g) and
               (since is None or version_tuple(line) >= version_tuple(since))
               for g, since in excludes)


def resolve(line, commits, excludes):
    """Fill each commit's hunks and files for LINE; check completeness."""
    names, patches = line_patches(line)
    known = all_patch_names()
    ovl = overlay_files()
    taken = {}

    def take(c, repo, qpath):
        if repo in taken:
            die("%s: %s is also in %s" % (c.name, repo, taken[repo]))
        taken[repo] = c.name
        c.files[qpath] = repo

    # Hunks, and overlay files named one by one.
    for c in commits:
        c.hunks, c.files = [], {}
        for d in c.directives:
            if d[0] == "hunks":
                if len(d) < 2 or len(d) > 4:
                    die("%s: hunks PATCH [PATH [REGEX|!REGEX]]" % c.name)
                if d[1] not in known:
                    die("%s: no hook patch %s in any line" % (c.name, d[1]))
                if d[1] not in patches:
                    continue        # not a patch of this line
                sel = patches[d[1]]
                if len(d) >= 3:
                    sel = [h for h in sel if h.path == d[2]]
                    if not sel:
                        die("%s: %s does not change %s" % (c.name, d[1], d[2]))
                if len(d) == 4:
                    neg = d[3].startswith("!")
                    rx = re.compile(d[3][1:] if neg else d[3])
                    sel = [h for h in sel if
                           any(rx.search(x) for x in h.changed()) != neg]
                    if not sel:
                        die("%s: no hunk of %s in %s matches %s" %
                            (c.name, d[1], d[2], d[3]))
                for h in sel:
                    if h.used_by:
                        die("%s: hunk %r is also in %s" % (c.name, h,
                                                           h.used_by))
                    h.used_by = c.name
                    c.hunks.append(h)
            elif d[0] == "overlay":
                for p in d[1:]:
                    if p in ovl and not excluded(p, excludes, line):
                        take(c, p, ovl[p])
            elif d[0] == "file":
                if len(d) != 3 or not os.path.isfile(d[1]):
                    die("%s: file REPO-PATH QEMU-PATH (%s)" % (c.name,
                                                               " ".join(d)))
                take(c, d[1], d[2])
            else:
                die("%s: unknown directive '%s'" % (c.name, d[0]))
    # Directories: their files that no commit names.
    for c in commits:
        for d in c.directives:
            if d[0] != "overlay":
                continue
            for p in d[1:]:
                under = [f for f in ovl if f.startswith(p.rstrip("/") + "/")]
                if p not in ovl and not under:
                    die("%s: %s is not in the overlay" % (c.name, p))
                for f in under:
                    if f not in taken and not excluded(f, excludes, line):
                        take(c, f, ovl[f])
    # Completeness.
    left = []
    for n in names:
        left += ["hunk %r" % h for h in patches[n] if not h.used_by]
    left += ["overlay file %s" % f for f in sorted(ovl)
             if f not in taken and not excluded(f, excludes, line)]
    if left:
        die("in no commit of %s/series and not excluded:\n  %s" %
            (SPEC, "\n  ".join(left)))
    return names, patches


# ---- making the series ----

def git(repo, *args, **kw):
    return run(["git", "-C", repo] + list(args), **kw)


def git_env(author, date):
    name, _, email = author.partition(" <")
    env = dict(os.environ)
    env.update(GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email.rstrip(">"),
               GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email.rstrip(">"),
               GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date,
               GIT_CONFIG_NOSYSTEM="1", HOME=os.path.join(TOP, BUILD))
    return env


def series_date():
    """The date of this repository's last commit: output stays the same."""
    r = run(["git", "log", "-1", "--format=%cI"], check=False)
    d = r.stdout.decode().strip()
    return d or "2026-01-01T00:00:00+00:00"


def apply_hunks(repo, hunks):
    by_file = {}
    for h in hunks:
        if h.deletes():
            os.remove(os.path.join(repo, h.path))
            continue
        by_file.setdefault(h.path, []).append(h)
    for path, hs in by_file.items():
        text = "--- a/%s\n+++ b/%s\n" % (path, path)
        for h in hs:
            text += h.header + "".join(h.lines)
        r = run(["patch", "-p1", "-F0", "-s", "--no-backup-if-mismatch",
                 "-d", repo], input=text.encode(), check=False)
        if r.returncode:
            die("hunks of %s for %s do not apply: %s" %
                (", ".join(sorted({h.patch for h in hs})), path,
                 (r.stdout + r.stderr).decode(errors="replace")))


def maintainers_entries(c, src, all_files):
    """F: lines for the files commit C adds: a new directory whole when
    every file the series puts in it comes with C, else file by file."""
    entries = []
    for f in c.added:
        parts = f.split("/")
        entry = f
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if not os.path.exists(os.path.join(src, d)):
                inside = [x for x in all_files if x.startswith(d + "/")]
                if all(x in c.files for x in inside):
                    entry = d + "/"
                break
        if entry not in entries:
            entries.append(entry)
    return entries


def new_dirs_complete(c, src, all_files, done):
    """The directories new to the source that commit C completes."""
    dirs = set()
    for f in c.added:
        parts = f.split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if not os.path.exists(os.path.join(src, d)):
                if all(x in done for x in all_files
                       if x.startswith(d + "/")):
                    dirs.add(d)
                break
    return sorted(dirs)


def add_maintainers(repo, section, entries, complete):
    """Add ENTRIES to our MAINTAINERS section; the entries under a
    directory of COMPLETE (now whole) become one for the directory."""
    path = os.path.join(repo, "MAINTAINERS")
    lines = read(path).splitlines(keepends=True)
    title = section[0]
    if title + "\n" in lines:
        i = lines.index(title + "\n")
        while i < len(lines) and lines[i].strip():
            i += 1
        lines[i:i] = ["F: %s\n" % e for e in entries]
        for d in complete:
            under = [k for k, l in enumerate(lines)
                     if l.startswith("F: %s/" % d)]
            if len(under) > 1:
                lines[under[0]] = "F: %s/\n" % d
                for k in reversed(under[1:]):
                    del lines[k]
    else:
        if MAINT_AFTER + "\n" not in lines:
            die("MAINTAINERS has no section '%s'" % MAINT_AFTER)
        i = lines.index(MAINT_AFTER + "\n")
        while i < len(lines) and lines[i].strip():
            i += 1
        lines[i:i] = ["\n"] + ["%s\n" % s for s in section] + \
            ["F: %s\n" % e for e in entries]
    write(path, "".join(lines))


def copy_from_source(src, dst, paths):
    """Copy those of PATHS that the source has, as they are."""
    for p in sorted(paths):
        if os.path.lexists(os.path.join(src, p)):
            os.makedirs(os.path.dirname(os.path.join(dst, p)), exist_ok=True)
            shutil.copy2(os.path.join(src, p), os.path.join(dst, p))


def version_tuple(v):
    return tuple(int(x) for x in v.split("."))


def line_message(msg, line):
    """MSG for QEMU LINE: a paragraph starting "@since X.Y " is kept only
    for lines from X.Y on, one starting "@before X.Y " only before."""
    out = []
    for para in msg.split("\n\n"):
        m = re.match(r"^@(since|before) ([0-9]+\.[0-9]+)\s+", para)
        if m:
            newer = version_tuple(line) >= version_tuple(m.group(2))
            if newer != (m.group(1) == "since"):
                continue
            para = para[m.end():]
            para = "\n".join(fill_lines(para.split("\n")))
        out.append(para)
    return "\n\n".join(out)


def fill_lines(lines, width=72):
    """Re-wrap a paragraph whose first line lost its prefix."""
    words = " ".join(lines).split()
    out, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = (cur + " " + w) if cur else w
    if cur:
        out.append(cur)
    return out


def make(line):
    author, excludes, commits = read_series()
    resolve(line, commits, excludes)
    src = os.path.join(BUILD, "qemu-%s" % line, "src")
    if not os.path.isfile(os.path.join(src, ".fetched")):
        die("%s is not fetched (scripts/fetch-qemu.sh %s)" % (src, line))
    fetched = read(os.path.join(src, ".fetched")).strip()
    repo = os.path.join(BUILD, "patches", "qemu-%s.git" % line)
    out = os.path.join(BUILD, "patches", "qemu-%s" % line)
    env = git_env(author, series_date())
    section = ["SEV-SNP certificate service and guest memory",
               "M: %s" % author, "S: Maintained"]

    # The base: the files of the source the series changes, as fetched.
    changed = {h.path for c in commits for h in c.hunks} | {"MAINTAINERS"}
    changed |= {q for c in commits for q in c.files}
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    copy_from_source(src, repo, changed)
    git(repo, "init", "-q")
    git(repo, "add", "-A", "-f")
    git(repo, "commit", "-q", "-m", fetched, env=env)
    base = git(repo, "rev-parse", "HEAD").stdout.decode().strip()

    all_files = [q for c in commits for q in c.files]
    made = []
    for c in commits:
        apply_hunks(repo, c.hunks)
        c.added = []
        for q, r in sorted(c.files.items()):
            if not os.path.lexists(os.path.join(src, q)):
                c.added.append(q)
            data = file_data(r)
            write(os.path.join(repo, q), qemu_copy(data, line))
            shutil.copymode(r, os.path.join(repo, q))
        if c.added:
            done = {q for d in commits[:commits.index(c) + 1]
                    for q in d.files}
            add_maintainers(repo, section,
                            maintainers_entries(c, src, all_files),
                            new_dirs_complete(c, src, all_files, done))
        git(repo, "add", "-A", "-f")
        if not git(repo, "diff", "--cached", "--quiet",
                   check=False).returncode:
            continue            # nothing of it on this line
        msg = line_message(c.message, line)
        sob = "Signed-off-by: %s" % author
        if sob not in msg:
            msg = msg.rstrip("\n") + "\n\n" + sob + "\n"
        git(repo, "commit", "-q", "-F", "-", input=msg.encode(), env=env)
        made.append(c)

    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    cover = read(os.path.join(SPEC, "cover-letter")).strip("\n")
    csubj, _, cbody = cover.partition("\n\n")
    git(repo, "format-patch", "-q", "--no-signature", "--cover-letter",
        "--subject-prefix=PATCH", "-o", os.path.abspath(out),
        base + "..HEAD", env=env)
    cl = os.path.join(out, "0000-cover-letter.patch")
    text = read(cl)
    text = text.replace("*** SUBJECT HERE ***", csubj.strip())
    blurb = cbody.replace("@FETCHED@", fetched).strip() + "\n"
    if identity()[1]:
        blurb = ("NOT FOR MAILING: made by make check where git has no "
                 "identity; make patches signs with yours.\n\n" + blurb)
    text = text.replace("*** BLURB HERE ***", blurb)
    write(cl, text)
    write(os.path.join(out, ".base"), fetched + "\n")
    print("make-patches: QEMU %s: %d patches in %s (against %s)" %
          (line, len(made), out, fetched))
    return made


# ---- checking it ----

def series_files(out):
    return sorted(os.path.join(out, f) for f in os.listdir(out)
                  if re.match(r"^[0-9]{4}-.*\.patch$", f) and
                  not f.startswith("0000-"))


def patch_paths(patch):
    paths = []
    for l in read(patch, "rb").decode(errors="replace").splitlines():
        m = re.match(r"^diff --git a/(\S+) b/(\S+)$", l)
        if m:
            paths.append(m.group(2))
    return paths


def binary_files(patch):
    """The files a patch gives as binary data (GIT binary patch)."""
    files, cur = [], None
    for l in read(patch, "rb").decode(errors="replace").splitlines():
        m = re.match(r"^diff --git a/(\S+) b/(\S+)$", l)
        if m:
            cur = m.group(2)
        elif cur and (l == "GIT binary patch" or l.startswith("Binary files")):
            files.append(cur)
    return files


def check(line):
    """TAP: the series exists, is checkpatch clean, applies with git am
    to a fresh copy of the source, and gives what the prepared tree
    builds (the files it changes), nothing lost."""
    author, excludes, commits = read_series()
    src = os.path.join(BUILD, "qemu-%s" % line, "src")
    tree = os.path.join(BUILD, "qemu-%s" % line, "tree")
    out = os.path.join(BUILD, "patches", "qemu-%s" % line)
    tap = []
    n = [0]

    def ok(good, what, diag=""):
        n[0] += 1
        tap.append("%sok %d qemu-%s patches: %s" %
                   ("" if good else "not ", n[0], line, what))
        if not good and diag:
            tap.extend("# " + x for x in diag.rstrip().splitlines()[:60])
        return good

    patches = series_files(out) if os.path.isdir(out) else []
    if not ok(bool(patches) and
              read(os.path.join(out, ".base")).strip() ==
              read(os.path.join(src, ".fetched")).strip(),
              "series written against %s" % src):
        print("1..%d" % n[0])
        print("\n".join(tap))
        return False

    # checkpatch.pl of the source itself, run at its top.
    cp = os.path.abspath(os.path.join(src, "scripts", "checkpatch.pl"))
    for p in patches:
        r = run([cp, "--terse", os.path.abspath(p)], cwd=src, check=False)
        o = (r.stdout + r.stderr).decode(errors="replace")
        found = [l for l in o.splitlines() if re.search(r"(ERROR|WARNING):", l)]
        # The one finding a binary file cannot avoid: it has no place for
        # an SPDX line (the DER certificates of the qtests).
        binary = binary_files(p)
        accepted = [l for l in found if any(
            "WARNING: Does new file '%s' need 'SPDX-License-Identifier'?" % b
            in l for b in binary)]
        # A linux-headers update (update-linux-headers.sh's output, the
        # only thing in its patch) is asked whether the script made its
        # added and deleted files and whether MAINTAINERS needs them.
        imported = all(re.match(r"^(linux-headers|include/standard-headers)/",
                                q) for q in patch_paths(p))
        # QEMU 10.0's checkpatch also judges the SPDX line of a file the
        # update deletes (a removed line; later checkpatch skips those).
        if imported:
            plines = read(p, "rb").decode(errors="replace").splitlines()

            def removed(l):
                m = re.search(r":([0-9]+): ERROR: Saw unacceptable licenses",
                              l)
                n = int(m.group(1)) if m else 0
                return 0 < n <= len(plines) and plines[n - 1][:1] == "-"
            accepted += [l for l in found if
                         "WARNING: added, moved or deleted file(s)" in l or
                         removed(l)]
        rest = [l for l in found if l not in accepted]
        why = ("binary data without SPDX" if binary else
               "imported from Linux, added or deleted files")
        ok(not rest and (r.returncode == 0 or accepted),
           "checkpatch %s%s" % (os.path.basename(p),
                                " (%s: %d)" % (why, len(accepted))
                                if accepted else ""), o)

    # git am onto a fresh copy of the source's files the series changes.
    am = os.path.join(BUILD, "patches", "qemu-%s.am" % line)
    shutil.rmtree(am, ignore_errors=True)
    os.makedirs(am)
    paths = sorted({q for p in patches for q in patch_paths(p)})
    copy_from_source(src, am, paths)
    env = git_env(author, series_date())
    git(am, "init", "-q")
    git(am, "add", "-A", "-f")
    git(am, "commit", "-q", "-m", "base", env=env)
    r = run(["git", "-C", am, "am", "-q", "--whitespace=error-all"] +
            [os.path.abspath(p) for p in patches], env=env, check=False)
    if not ok(r.returncode == 0, "git am of %d patches onto %s" %
              (len(patches), src), (r.stdout + r.stderr).decode(
                  errors="replace")):
        print("1..%d" % n[0])
        print("\n".join(tap))
        return False

    # What the prepared tree has that the source has not, from us.
    ovl = overlay_files()
    expected = {}           # QEMU path -> (what, path of the expected data)
    for r_, q in ovl.items():
        if not excluded(r_, excludes, line):
            expected[q] = ("overlay", os.path.join(tree, q))
    # Files the hook patches delete: absent from the tree and the series.
    _, hooks = line_patches(line)
    deleted = {h.path for hs in hooks.values() for h in hs if h.deletes()}
    patched = os.path.join(tree, ".qemu-snp-patched")
    for q in read(patched).split() if os.path.isfile(patched) else []:
        expected[q] = ("hook", os.path.join(tree, q))
    for c in commits:
        for d in c.directives:
            if d[0] == "file":
                expected[d[2]] = ("file", d[1])
    bad = []
    for q in paths:
        got = os.path.join(am, q)
        if q == "MAINTAINERS":
            continue        # the series' own entries
        if q in deleted and q not in expected:
            if os.path.lexists(got) or os.path.lexists(os.path.join(tree,
                                                                    q)):
                bad.append("%s: a hook patch deletes it, the series or "
                           "the prepared tree keeps it" % q)
            continue
        if q not in expected:
            bad.append("%s: in the series, not from the prepared tree" % q)
            continue
        what, want = expected[q]
        if not os.path.isfile(got):
            bad.append("%s: deleted by the series" % q)
            continue
        data = file_data(want)
        if what == "overlay":
            data = qemu_copy(data, line)
        if isinstance(data, str):
            data = data.encode()
        if read(got, "rb") != data:
            bad.append("%s: differs from %s" % (q, want))
    for q, (what, want) in sorted(expected.items()):
        if q not in paths:
            bad.append("%s (%s): in the prepared tree, not in the series" %
                       (q, what))
    ok(not bad, "the series gives the prepared tree's %d files (test-only "
       "code and the standalone build's parts left out)" % len(paths),
       "\n".join(bad))
    print("1..%d" % n[0])
    print("\n".join(tap))
    return all(not t.startswith("not ok") for t in tap)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        if sys.argv[1] == "make":
            make(sys.argv[2])
            return 0
        return 0 if check(sys.argv[2]) else 1
    except SeriesError as e:
        print("make-patches: QEMU %s: %s" % (sys.argv[2], e), file=sys.stderr)
        if sys.argv[1] == "check":
            print("1..1\nnot ok 1 qemu-%s patches: %s" %
                  (sys.argv[2], str(e).splitlines()[0]))
        return 1


if __name__ == "__main__":
    sys.exit(main())
