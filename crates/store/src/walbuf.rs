//! A VFS shim for the writer's connection that coalesces the WAL's writes.
//!
//! SQLite writes each WAL frame as two `pwrite`s (a 24-byte header, then the page), so a
//! batch that dirties 4,000 pages costs 8,000 system calls, each walking ext4's buffered
//! write path for a partial block: on this kind of machine that was about half of the
//! writer thread's time. Here the WAL file's contiguous writes are gathered in memory and
//! handed to the kernel in `pwrite`s of [`WRITE_BYTES`] (16 frames each), and always before the WAL is
//! synced, read, truncated, sized or closed. Nothing else changes: every other file (the
//! database, its shared memory) is the default VFS's own, untouched.
//!
//! Durability is the same as without the shim. SQLite treats a transaction as committed
//! only once its commit frame is written *and* (with `synchronous=FULL`, which every
//! connection on this VFS sets) the WAL is synced; the buffer is flushed at the start of
//! that sync, so the frames reach the disk in the same order and the same `fsync`
//! covers them. Frames lost with the process before the sync belong to a transaction
//! that was never acknowledged, which recovery ignores as it always has (salts and
//! cumulative checksums).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name connections open the shim by.
pub(crate) const NAME: &str = "gongji-walbuf";
const NAME_C: &CStr = c"gongji-walbuf";

/// Buffered WAL bytes handed to the kernel in one write.
const FLUSH_BYTES: usize = 4 << 20;

/// Bytes per `pwrite` of a flush (the unix VFS's limit is just under 128 KiB).
const WRITE_BYTES: usize = 64 << 10;

/// The default VFS the shim wraps, once registered (`Err` holds SQLite's code).
static REGISTERED: OnceLock<Result<usize, c_int>> = OnceLock::new();

/// Registers the shim (once per process); `false` if SQLite refused, in which case the
/// caller opens with the default VFS.
pub(crate) fn register() -> bool {
    REGISTERED
        .get_or_init(|| {
            // SAFETY: `sqlite3_vfs_find(NULL)` returns the default VFS, which lives as long
            // as the process; the copy is leaked so it lives as long too.
            unsafe {
                if ffi::sqlite3_initialize() != ffi::SQLITE_OK {
                    return Err(ffi::SQLITE_ERROR);
                }
                let real = ffi::sqlite3_vfs_find(std::ptr::null());
                if real.is_null() {
                    return Err(ffi::SQLITE_ERROR);
                }
                let mut vfs: ffi::sqlite3_vfs = std::ptr::read(real);
                vfs.szOsFile = (real_offset() + (*real).szOsFile as usize) as c_int;
                vfs.zName = NAME_C.as_ptr();
                vfs.pNext = std::ptr::null_mut();
                vfs.xOpen = Some(open);
                let vfs = Box::leak(Box::new(vfs));
                let rc = ffi::sqlite3_vfs_register(vfs, 0);
                if rc == ffi::SQLITE_OK {
                    Ok(real as usize)
                } else {
                    Err(rc)
                }
            }
        })
        .is_ok()
}

fn real_vfs() -> *mut ffi::sqlite3_vfs {
    match REGISTERED.get() {
        Some(Ok(p)) => *p as *mut ffi::sqlite3_vfs,
        _ => std::ptr::null_mut(),
    }
}

/// Where the wrapped file starts inside the block SQLite allocates for a WAL file.
fn real_offset() -> usize {
    let align = std::mem::align_of::<u64>();
    std::mem::size_of::<WalFile>().div_ceil(align) * align
}

/// A WAL file: SQLite's file header with our methods, then the buffer, then (at
/// [`real_offset`]) the default VFS's file.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    buf: *mut Vec<u8>,
    /// File offset of the buffer's first byte.
    start: i64,
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real_vfs = real_vfs();
    let Some(real_open) = real_vfs.as_ref().and_then(|v| v.xOpen) else {
        return ffi::SQLITE_ERROR;
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Not a WAL: the default VFS's file in place, its own methods, nothing wrapped.
        return real_open(real_vfs, name, file, flags, out_flags);
    }
    let real = (file as *mut u8).add(real_offset()) as *mut ffi::sqlite3_file;
    (*file).pMethods = std::ptr::null();
    let rc = real_open(real_vfs, name, real, flags, out_flags);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    std::ptr::write(
        file as *mut WalFile,
        WalFile {
            base: ffi::sqlite3_file {
                pMethods: &WAL_METHODS,
            },
            real,
            buf: Box::into_raw(Box::new(Vec::new())),
            start: 0,
        },
    );
    ffi::SQLITE_OK
}

unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    &mut *(file as *mut WalFile)
}

unsafe fn methods(f: &WalFile) -> &ffi::sqlite3_io_methods {
    &*(*f.real).pMethods
}

/// Writes the buffer out (in order, from its start) and empties it.
unsafe fn flush(f: &mut WalFile) -> c_int {
    let buf = &mut *f.buf;
    if buf.is_empty() {
        return ffi::SQLITE_OK;
    }
    let Some(write) = methods(f).xWrite else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    // The unix VFS writes at most 128 KiB per call (it masks larger sizes), so the
    // buffer goes out in chunks below that: still one system call per 16 frames.
    let mut rc = ffi::SQLITE_OK;
    let mut at = f.start;
    for chunk in buf.chunks(WRITE_BYTES) {
        rc = write(
            f.real,
            chunk.as_ptr() as *const c_void,
            chunk.len() as c_int,
            at,
        );
        if rc != ffi::SQLITE_OK {
            break;
        }
        at += chunk.len() as i64;
    }
    buf.clear();
    if buf.capacity() > 2 * FLUSH_BYTES {
        buf.shrink_to(FLUSH_BYTES);
    }
    rc
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let f = wal(file);
    let flushed = flush(f);
    let closed = match methods(f).xClose {
        Some(c) => c(f.real),
        None => ffi::SQLITE_OK,
    };
    drop(Box::from_raw(f.buf));
    f.buf = std::ptr::null_mut();
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    let f = wal(file);
    let Ok(len) = usize::try_from(amount) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    let end = f.start + (*f.buf).len() as i64;
    if (*f.buf).is_empty() || offset != end {
        // Not a continuation (the header rewritten at offset 0, a frame rewritten):
        // what is buffered goes out first, so writes reach the file in their order.
        let rc = flush(f);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        f.start = offset;
    }
    let buf = &mut *f.buf;
    buf.extend_from_slice(std::slice::from_raw_parts(data as *const u8, len));
    if buf.len() >= FLUSH_BYTES {
        return flush(f);
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    data: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    let f = wal(file);
    let rc = flush(f);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match methods(f).xRead {
        Some(r) => r(f.real, data, amount, offset),
        None => ffi::SQLITE_IOERR_READ,
    }
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    let f = wal(file);
    let rc = flush(f);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match methods(f).xTruncate {
        Some(t) => t(f.real, size),
        None => ffi::SQLITE_IOERR_TRUNCATE,
    }
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    let f = wal(file);
    let rc = flush(f);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match methods(f).xSync {
        Some(s) => s(f.real, flags),
        None => ffi::SQLITE_IOERR_FSYNC,
    }
}

unsafe extern "C" fn file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    let f = wal(file);
    let rc = flush(f);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match methods(f).xFileSize {
        Some(s) => s(f.real, size),
        None => ffi::SQLITE_IOERR_FSTAT,
    }
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let f = wal(file);
    match methods(f).xLock {
        Some(l) => l(f.real, level),
        None => ffi::SQLITE_OK,
    }
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    let f = wal(file);
    match methods(f).xUnlock {
        Some(l) => l(f.real, level),
        None => ffi::SQLITE_OK,
    }
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    let f = wal(file);
    match methods(f).xCheckReservedLock {
        Some(l) => l(f.real, out),
        None => {
            *out = 0;
            ffi::SQLITE_OK
        }
    }
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    let f = wal(file);
    // Whatever the control does, it sees the file as SQLite wrote it.
    let rc = flush(f);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    match methods(f).xFileControl {
        Some(c) => c(f.real, op, arg),
        None => ffi::SQLITE_NOTFOUND,
    }
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    let f = wal(file);
    match methods(f).xSectorSize {
        Some(s) => s(f.real),
        None => 4096,
    }
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    let f = wal(file);
    match methods(f).xDeviceCharacteristics {
        Some(d) => d(f.real),
        None => 0,
    }
}

/// Version 1: a WAL file is never memory-mapped and has no shared memory of its own
/// (the wal-index belongs to the database file, which is not wrapped).
static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};
