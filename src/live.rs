//! A table that follows its file: snapshots, validation and hot reload.
//!
//! [`Live`] maps a **private snapshot** of the table file, never the file
//! itself. The snapshot is a copy made with `read()` into a directory only
//! ipgeo writes (by default `/var/tmp/ipgeo-<uid>/`, on disk, so that the
//! pages of versions no process uses any more are ordinary, reclaimable
//! page cache), named by the table's checksum and size, and validated before
//! use. So:
//!
//! - an in-place overwrite (`cp` onto the file) or a `truncate` of the live
//!   file cannot fault a reader (SIGBUS): nothing maps that file;
//! - processes (nginx workers) that load the same table map the same
//!   snapshot file and share its pages;
//! - a corrupt or half-written replacement is refused and the current table
//!   keeps serving.
//!
//! [`Live::check`] never blocks: it compares the file's identity (device,
//! inode, size, modification and change times) with the loaded one, and when
//! it changed, loads the new file in a background thread; a later `check`
//! swaps it in. [`Live::reload`] does the same synchronously. A `Live` is
//! used from one thread (an nginx worker); only the loading runs elsewhere.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use crate::format;
use crate::table::{MappedTable, Table};

/// Options of a [`Live`] table.
#[derive(Clone, Debug, Default)]
pub struct LiveOptions {
    /// Where snapshots go; default `/var/tmp/ipgeo-<uid>`, or
    /// `$TMPDIR/ipgeo-<uid>` where there is no `/var/tmp`.
    pub snapshot_dir: Option<PathBuf>,
    /// Map the file itself instead of a snapshot. Saves the copy, but then
    /// the file must only ever be replaced by `rename()`: an in-place write
    /// or truncation would fault the process.
    pub no_snapshot: bool,
    /// Remove the snapshot's name once it is mapped (for a process, such as
    /// the nginx master, whose mapping is inherited rather than reopened).
    pub unlink_snapshot: bool,
}

/// The identity of a file version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileId {
    fn of(m: &fs::Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }

    fn stat(path: &Path) -> io::Result<FileId> {
        fs::metadata(path).map(|m| FileId::of(&m))
    }
}

/// A loaded table and where it came from.
pub struct Loaded {
    /// The table.
    pub table: MappedTable,
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The snapshot mapped, if any.
    pub snapshot: Option<PathBuf>,
    /// The file's identity when loaded.
    pub identity: FileId,
    /// When it was loaded.
    pub loaded_at: SystemTime,
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("path", &self.path)
            .field("snapshot", &self.snapshot)
            .field("checksum", &self.table.meta().checksum)
            .finish()
    }
}

/// Why a load failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The file changed while it was read (a writer is still at work); try
    /// again later. Not worth a log line.
    Changed,
    /// The file cannot be used: the message says why.
    Invalid(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Changed => f.write_str("the file changed while being read"),
            LoadError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for LoadError {}

/// What [`Live::check`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The file is the one loaded (or one already refused).
    Unchanged,
    /// A new version is being loaded in the background.
    Loading,
    /// A new version was swapped in.
    Swapped,
    /// A new version was refused; the old table keeps serving. Reported
    /// once per file version.
    Failed(String),
}

/// A table that follows its file. See the module documentation.
pub struct Live {
    path: PathBuf,
    opts: LiveOptions,
    current: Arc<Loaded>,
    generation: u64,
    pending: Option<(FileId, JoinHandle<Result<Loaded, LoadError>>)>,
    refused: Option<FileId>,
    last_error: Option<String>,
    last_check: Option<SystemTime>,
}

impl fmt::Debug for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live")
            .field("path", &self.path)
            .field("generation", &self.generation)
            .field("current", &self.current)
            .finish()
    }
}

impl Live {
    /// Loads `path` (synchronously).
    ///
    /// # Errors
    /// [`LoadError::Invalid`] if the file cannot be read, is not a valid
    /// table, or the snapshot directory cannot be used.
    pub fn open(path: impl Into<PathBuf>, opts: LiveOptions) -> Result<Live, LoadError> {
        let path = path.into();
        if !opts.no_snapshot {
            remove_stale_temporaries(
                &opts
                    .snapshot_dir
                    .clone()
                    .unwrap_or_else(default_snapshot_dir),
            );
        }
        let loaded = load_settled(&path, &opts)?;
        // Unlinking is for the first load only (in the nginx master, whose
        // mapping workers inherit); the workers' own reloads keep the name so
        // that they share one snapshot.
        let opts = LiveOptions {
            unlink_snapshot: false,
            ..opts
        };
        Ok(Live {
            path,
            opts,
            current: Arc::new(loaded),
            generation: 1,
            pending: None,
            refused: None,
            last_error: None,
            last_check: None,
        })
    }

    /// The table in use.
    pub fn current(&self) -> &Arc<Loaded> {
        &self.current
    }

    /// Counts swaps: 1 after open, +1 per new table swapped in.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The reason the last new version was refused, if any.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// When [`Live::check`] last looked at the file.
    pub fn last_check(&self) -> Option<SystemTime> {
        self.last_check
    }

    /// Looks at the file without blocking; see [`Check`].
    pub fn check(&mut self) -> Check {
        self.last_check = Some(SystemTime::now());
        if let Some((id, handle)) = self.pending.take() {
            if !handle.is_finished() {
                self.pending = Some((id, handle));
                return Check::Loading;
            }
            let outcome = handle
                .join()
                .unwrap_or_else(|_| Err(LoadError::Invalid("the loader thread panicked".into())));
            return match outcome {
                Ok(loaded) => {
                    self.swap(loaded);
                    Check::Swapped
                }
                Err(LoadError::Changed) => Check::Loading,
                // A file written moments ago may still be being written (an
                // in-place `cp` truncates first): look again before refusing.
                Err(LoadError::Invalid(_)) if recently_modified(&self.path) => Check::Unchanged,
                Err(LoadError::Invalid(m)) => self.refuse(id, m),
            };
        }
        let id = match FileId::stat(&self.path) {
            Ok(id) => id,
            Err(e) => {
                let msg = format!("{}: {e}", self.path.display());
                if self.last_error.as_deref() == Some(&msg) {
                    return Check::Unchanged;
                }
                self.last_error = Some(msg.clone());
                return Check::Failed(msg);
            }
        };
        if id == self.current.identity || self.refused == Some(id) {
            return Check::Unchanged;
        }
        let (path, opts) = (self.path.clone(), self.opts.clone());
        let spawned = std::thread::Builder::new()
            .name("ipgeo-load".into())
            .spawn(move || load(&path, &opts));
        match spawned {
            Ok(handle) => {
                self.pending = Some((id, handle));
                Check::Loading
            }
            Err(e) => self.refuse(id, format!("cannot start the loader thread: {e}")),
        }
    }

    /// Loads the file now, blocking, and swaps it in if it is new (or if
    /// `force`). Returns whether a new table was swapped in.
    ///
    /// # Errors
    /// [`LoadError::Invalid`] if the file is not a valid table; the current
    /// table stays.
    pub fn reload(&mut self, force: bool) -> Result<bool, LoadError> {
        self.last_check = Some(SystemTime::now());
        if let Some((_, handle)) = self.pending.take() {
            let _ = handle.join();
        }
        let id = FileId::stat(&self.path)
            .map_err(|e| LoadError::Invalid(format!("{}: {e}", self.path.display())))?;
        if id == self.current.identity && !force {
            return Ok(false);
        }
        match load_settled(&self.path, &self.opts) {
            Ok(loaded) => {
                self.swap(loaded);
                Ok(true)
            }
            Err(e) => {
                self.refused = Some(id);
                self.last_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    fn refuse(&mut self, id: FileId, msg: String) -> Check {
        self.refused = Some(id);
        self.last_error = Some(msg.clone());
        Check::Failed(msg)
    }

    fn swap(&mut self, loaded: Loaded) {
        let old = std::mem::replace(&mut self.current, Arc::new(loaded));
        self.generation += 1;
        self.refused = None;
        self.last_error = None;
        // The old snapshot's name is no longer needed by this process; any
        // process that still maps it keeps its pages.
        if let Some(s) = &old.snapshot {
            if self.current.snapshot.as_ref() != Some(s) {
                let _ = fs::remove_file(s);
            }
        }
    }
}

/// How long after its last modification a file that fails to load is
/// assumed to be still being written.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

fn recently_modified(path: &Path) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < SETTLE)
}

/// Loads a file, retrying a few times while it is being written.
fn load_settled(path: &Path, opts: &LiveOptions) -> Result<Loaded, LoadError> {
    for attempt in 0..20 {
        match load(path, opts) {
            Err(LoadError::Changed) => {
                std::thread::sleep(std::time::Duration::from_millis(50 * (attempt + 1)))
            }
            other => return other,
        }
    }
    Err(LoadError::Invalid(format!(
        "{}: the file keeps changing",
        path.display()
    )))
}

/// Removes temporary files that a crashed process left in the snapshot
/// directory (older than ten minutes).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age.as_secs() > 600);
        if old {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The default snapshot directory for this user.
pub fn default_snapshot_dir() -> PathBuf {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc_getuid() };
    let base = if Path::new("/var/tmp").is_dir() {
        PathBuf::from("/var/tmp")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("ipgeo-{uid}"))
}

extern "C" {
    #[link_name = "getuid"]
    fn libc_getuid() -> u32;
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Loads one version of the file: into a snapshot unless told otherwise.
pub fn load(path: &Path, opts: &LiveOptions) -> Result<Loaded, LoadError> {
    let invalid = |m: String| LoadError::Invalid(format!("{}: {m}", path.display()));
    let id = FileId::stat(path).map_err(|e| invalid(e.to_string()))?;
    let mut file = File::open(path).map_err(|e| invalid(e.to_string()))?;
    let mut header = [0u8; format::HEADER_SIZE];
    if let Err(e) = file.read_exact(&mut header) {
        return Err(changed_or(
            path,
            id,
            invalid(format!("cannot read the header: {e}")),
        ));
    }
    if header[..8] != format::MAGIC {
        return Err(changed_or(
            path,
            id,
            invalid("not an ipgeo table (bad magic at offset 0)".into()),
        ));
    }
    let size = format::read_u64(&header, format::hdr::FILE_SIZE).unwrap_or(0);
    let checksum = format::read_u64(&header, format::hdr::CHECKSUM).unwrap_or(0);
    if size != id.size {
        return Err(changed_or(
            path,
            id,
            invalid(format!(
                "header says the file is {size} bytes but it is {} (truncated or extended)",
                id.size
            )),
        ));
    }
    if opts.no_snapshot {
        let table = Table::open_file(path).map_err(|e| changed_or(path, id, invalid_table(e)))?;
        return Ok(finish(table, path, None, id));
    }
    let dir = opts
        .snapshot_dir
        .clone()
        .unwrap_or_else(default_snapshot_dir);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| invalid(format!("snapshot directory {}: {e}", dir.display())))?;
    let target = dir.join(format!("{checksum:016x}-{size}.ipgeo"));
    // Another process may have made this snapshot already: share it.
    if let Ok(table) = Table::open_file(&target) {
        if FileId::stat(path).ok() != Some(id) {
            return Err(LoadError::Changed);
        }
        return Ok(finish_snapshot(table, path, target, id, opts));
    }
    let tmp = dir.join(format!(
        ".{checksum:016x}.{}.{}.tmp",
        std::process::id(),
        TMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let copied = (|| -> io::Result<()> {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.rewind()?;
        copy_in_blocks(&mut file, &mut out)
    })();
    if let Err(e) = copied {
        let _ = fs::remove_file(&tmp);
        return Err(invalid(format!(
            "cannot write snapshot {}: {e}",
            tmp.display()
        )));
    }
    if FileId::stat(path).ok() != Some(id) {
        let _ = fs::remove_file(&tmp);
        return Err(LoadError::Changed);
    }
    let table = match Table::open_file(&tmp) {
        Ok(t) => t,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(invalid_table(e));
        }
    };
    // Publish without replacing: if another process won the race, use its
    // snapshot (ours stays mapped until then).
    let result = match fs::hard_link(&tmp, &target) {
        Ok(()) => Ok(finish_snapshot(table, path, target, id, opts)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match Table::open_file(&target) {
            Ok(theirs) => Ok(finish_snapshot(theirs, path, target, id, opts)),
            Err(_) => Ok(finish(table, path, None, id)),
        },
        Err(_) => Ok(finish(table, path, None, id)),
    };
    let _ = fs::remove_file(&tmp);
    result
}

/// Copies `from` to `to` with `read()` and `write()` of 2 MiB blocks.
///
/// Not `io::copy`: on Linux that is `copy_file_range`, which leaves the copy
/// in the page cache as small pages, while 2 MiB writes leave it as 2 MiB
/// folios (ext4, Linux 6.18), which the map then uses as huge pages (see
/// `Table::open_file`): fewer TLB misses on every lookup.
fn copy_in_blocks(from: &mut File, to: &mut File) -> io::Result<()> {
    let mut buf = vec![0u8; 2 << 20];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
    }
}

fn invalid_table(e: crate::table::TableError) -> LoadError {
    LoadError::Invalid(e.to_string())
}

/// `err`, unless the file changed since `id` was taken.
fn changed_or(path: &Path, id: FileId, err: LoadError) -> LoadError {
    if FileId::stat(path).ok() == Some(id) {
        err
    } else {
        LoadError::Changed
    }
}

fn finish_snapshot(
    table: MappedTable,
    path: &Path,
    snapshot: PathBuf,
    id: FileId,
    opts: &LiveOptions,
) -> Loaded {
    if opts.unlink_snapshot {
        let _ = fs::remove_file(&snapshot);
        return finish(table, path, None, id);
    }
    finish(table, path, Some(snapshot), id)
}

fn finish(table: MappedTable, path: &Path, snapshot: Option<PathBuf>, identity: FileId) -> Loaded {
    Loaded {
        table,
        path: path.to_path_buf(),
        snapshot,
        identity,
        loaded_at: SystemTime::now(),
    }
}
