//! A string that keeps up to 23 bytes inside itself, with no heap allocation.
//!
//! The registry holds millions of short texts (ID numbers 18 bytes, phones 11, names a few
//! Chinese characters, account keys around 18): as `String`s each is a heap block of its
//! own, 32 bytes or more, beside the 24 of the `String` itself. `SmallStr` is 24 bytes
//! like a `String` and keeps texts up to [`SmallStr::INLINE_MAX`] bytes in place; longer
//! ones go to the heap as a `Box<str>`, sized exactly.
//!
//! It hashes, compares and orders exactly as the `str` it holds, and borrows as `str`, so
//! a `HashMap<SmallStr, V>` is looked up with a `&str`.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU8;
use std::ops::Deref;

const INLINE: usize = 23;

#[derive(Clone)]
pub struct SmallStr(Repr);

#[derive(Clone)]
enum Repr {
    /// `len` is the length plus one (never zero, which leaves a niche for `Heap`, so the
    /// whole enum is 24 bytes).
    Inline {
        len: NonZeroU8,
        buf: [u8; INLINE],
    },
    Heap(Box<str>),
}

impl SmallStr {
    /// The longest text kept without a heap allocation, in bytes.
    pub const INLINE_MAX: usize = INLINE;

    pub const fn new() -> SmallStr {
        SmallStr(Repr::Inline {
            len: NonZeroU8::MIN,
            buf: [0; INLINE],
        })
    }

    fn inline(s: &str) -> Option<SmallStr> {
        let bytes = s.as_bytes();
        let len = u8::try_from(bytes.len() + 1)
            .ok()
            .and_then(NonZeroU8::new)?;
        let mut buf = [0u8; INLINE];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(SmallStr(Repr::Inline { len, buf }))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, buf } => {
                let bytes = &buf[..usize::from(len.get() - 1)];
                // Only whole `str`s are ever copied in, so this never fails.
                std::str::from_utf8(bytes).unwrap_or_default()
            }
            Repr::Heap(s) => s,
        }
    }

    /// Whether the text lives inside the value (no heap allocation).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl Default for SmallStr {
    fn default() -> SmallStr {
        SmallStr::new()
    }
}

impl From<&str> for SmallStr {
    fn from(s: &str) -> SmallStr {
        SmallStr::inline(s).unwrap_or_else(|| SmallStr(Repr::Heap(Box::from(s))))
    }
}

impl From<&String> for SmallStr {
    fn from(s: &String) -> SmallStr {
        SmallStr::from(s.as_str())
    }
}

impl From<String> for SmallStr {
    fn from(s: String) -> SmallStr {
        SmallStr::inline(&s).unwrap_or_else(|| SmallStr(Repr::Heap(s.into_boxed_str())))
    }
}

impl From<Box<str>> for SmallStr {
    fn from(s: Box<str>) -> SmallStr {
        SmallStr::inline(&s).unwrap_or(SmallStr(Repr::Heap(s)))
    }
}

impl From<Cow<'_, str>> for SmallStr {
    fn from(s: Cow<'_, str>) -> SmallStr {
        match s {
            Cow::Borrowed(b) => SmallStr::from(b),
            Cow::Owned(o) => SmallStr::from(o),
        }
    }
}

impl From<SmallStr> for String {
    fn from(s: SmallStr) -> String {
        match s.0 {
            Repr::Heap(b) => b.into_string(),
            Repr::Inline { .. } => s.as_str().to_string(),
        }
    }
}

impl Deref for SmallStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SmallStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SmallStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for SmallStr {
    fn eq(&self, other: &SmallStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SmallStr {}

impl PartialEq<str> for SmallStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SmallStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SmallStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for SmallStr {
    fn partial_cmp(&self, other: &SmallStr) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallStr {
    fn cmp(&self, other: &SmallStr) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Hashes as the `str` it holds, as `Borrow<str>` requires.
impl Hash for SmallStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::RandomState;
    use std::collections::HashMap;
    use std::hash::BuildHasher;

    #[test]
    fn as_small_as_a_string() {
        assert_eq!(
            std::mem::size_of::<SmallStr>(),
            std::mem::size_of::<String>()
        );
    }

    #[test]
    fn short_texts_stay_inline_long_ones_round_trip() {
        for s in [
            "",
            "a",
            "370302199001010114",
            "张建国",
            "欧阳建国欧阳建", // 21 bytes
            "psn:37010000000001",
            "12345678901234567890123",  // 23 bytes
            "123456789012345678901234", // 24 bytes
            "济南华夏电子科技股份有限公司",
        ] {
            let v = SmallStr::from(s);
            assert_eq!(v.as_str(), s);
            assert_eq!(v.is_inline(), s.len() <= SmallStr::INLINE_MAX, "{s}");
            assert_eq!(SmallStr::from(s.to_string()), v);
            assert_eq!(String::from(v.clone()), s);
            assert_eq!(v.to_string(), s);
            assert_eq!(format!("{v:?}"), format!("{s:?}"));
        }
        assert_eq!(SmallStr::default().as_str(), "");
    }

    #[test]
    fn hashes_and_orders_as_str() {
        let h = RandomState::new();
        for s in ["", "psn:P0001", "123456789012345678901234567"] {
            assert_eq!(h.hash_one(SmallStr::from(s)), h.hash_one(s));
        }
        let mut m: HashMap<SmallStr, i32> = HashMap::new();
        m.insert("psn:P0001".into(), 1);
        assert_eq!(m.get("psn:P0001"), Some(&1));
        let mut v: Vec<SmallStr> = ["b", "a", "ab"].into_iter().map(SmallStr::from).collect();
        v.sort();
        assert_eq!(v, ["a", "ab", "b"].map(SmallStr::from));
    }
}
