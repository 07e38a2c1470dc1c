//! The prefilter of the matcher: finding the case-insensitive trigrams `atu` and `sul` fast.
//!
//! Every key ends in the word `status` (`st-atu-s`) or `result` (`re-sul-t`), so a field can only be
//! where one of these trigrams is. This module owns finding the next one; [`crate::matcher`] checks
//! what is around it.
//!
//! Why not a crate: `memchr::memmem` has no case-insensitive mode, and `aho-corasick`'s Teddy (used on
//! other architectures, below) needs all 16 case variants and pays a set-up cost on every call, which
//! dominated the profile where near-misses like `status 200` give a hit every ~150 bytes. On x86_64 the
//! check is done 32 (AVX2) or 16 (SSE2) bytes at a time: OR-ing 0x20 folds ASCII case (only `A`/`a` map
//! to `a`, and so on for the five letters used), and three shifted loads compare the trigram at every
//! position at once.

/// Finds candidate positions. Chooses the widest instruction set the CPU has when built.
#[derive(Debug, Clone)]
pub struct Anchors {
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
    /// POPCNT and BMI1 too (every AVX2 CPU has them, but a VM may hide them).
    #[cfg(target_arch = "x86_64")]
    bmi: bool,
    #[cfg(not(target_arch = "x86_64"))]
    fallback: aho_corasick::AhoCorasick,
}

impl Default for Anchors {
    fn default() -> Self {
        Self::new()
    }
}

/// True when a trigram starts at `i` (`i + 3 <= hay.len()`).
#[inline]
fn is_anchor(hay: &[u8], i: usize) -> bool {
    let (a, b, c) = (hay[i] | 0x20, hay[i + 1] | 0x20, hay[i + 2] | 0x20);
    (a == b'a' && b == b't' && c == b'u') || (a == b's' && b == b'u' && c == b'l')
}

/// The portable search: a plain loop.
fn find_scalar(hay: &[u8], from: usize) -> Option<usize> {
    (from..hay.len().saturating_sub(2)).find(|&i| is_anchor(hay, i))
}

impl Anchors {
    /// Builds the searcher for this CPU.
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            Anchors {
                avx2: std::is_x86_feature_detected!("avx2"),
                bmi: std::is_x86_feature_detected!("popcnt")
                    && std::is_x86_feature_detected!("bmi1"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let mut variants = Vec::new();
            for word in [b"atu", b"sul"] {
                for mask in 0..8u8 {
                    let v: Vec<u8> = (0..3)
                        .map(|i| {
                            if mask & (1 << i) != 0 {
                                word[i].to_ascii_uppercase()
                            } else {
                                word[i]
                            }
                        })
                        .collect();
                    variants.push(v);
                }
            }
            Anchors {
                fallback: aho_corasick::AhoCorasick::new(&variants).expect("16 short patterns"),
            }
        }
    }

    /// The position of the first trigram starting at or after `from`.
    #[inline]
    pub fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        self.iter(hay, from).next()
    }

    /// All trigram positions at or after `from`, in order. The iterator keeps the bit mask of the
    /// 64-byte block it is in, so going from one candidate to the next costs a bit scan, not a new search.
    #[inline]
    pub fn iter<'a, 'h>(&'a self, hay: &'h [u8], from: usize) -> AnchorIter<'a, 'h> {
        AnchorIter {
            anchors: self,
            hay,
            base: from,
            mask: 0,
            next_block: from,
        }
    }

    /// The next block at or after `at` that has a trigram.
    #[inline]
    fn next_block(&self, hay: &[u8], at: usize) -> Option<Block> {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: AVX2 was detected at construction; SSE2 is part of the x86_64 baseline.
            unsafe {
                if self.avx2 {
                    x86::next_block_avx2(hay, at)
                } else {
                    x86::next_block_sse2(hay, at)
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            use aho_corasick::Input;
            if at >= hay.len() {
                return None;
            }
            let m = self.fallback.find(Input::new(hay).range(at..))?;
            Some(scalar_block(hay, m.start()))
        }
    }

    /// The same search without SIMD, for tests.
    pub fn find_portable(hay: &[u8], from: usize) -> Option<usize> {
        find_scalar(hay, from)
    }

    /// All trigram positions in `at..at + WINDOW` (and before the end of `hay`), written into `out` as
    /// offsets from `at`, in order; returns how many.
    ///
    /// This is the batch form of [`Anchors::iter`], for callers that look at every candidate: the SIMD
    /// loop writes the positions of each 64-byte chunk without asking first whether it has any, so it
    /// has no branch that depends on the text, where the iterator stops at each trigram (one
    /// mispredicted branch per candidate, about 15 ns).
    ///
    /// Where trigrams are rare, that costs more than it saves, so `sparse` (say, fewer than one
    /// candidate per 256 bytes in the window before) skips empty chunks with a branch, which is then
    /// predictable.
    #[inline]
    pub fn window(&self, hay: &[u8], at: usize, out: &mut Window, sparse: bool) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: the features were detected at construction.
            unsafe {
                match (self.avx2, self.bmi, sparse) {
                    (true, true, true) => x86::window_avx2_bmi::<true>(hay, at, &mut out.0),
                    (true, true, false) => x86::window_avx2_bmi::<false>(hay, at, &mut out.0),
                    (true, false, true) => x86::window_avx2::<true>(hay, at, &mut out.0),
                    (true, false, false) => x86::window_avx2::<false>(hay, at, &mut out.0),
                    (false, ..) => window_scalar(hay, at, at, &mut out.0, 0),
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        window_scalar(hay, at, at, &mut out.0, 0)
    }
}

/// How many positions one [`Anchors::window`] call covers.
pub const WINDOW: usize = 4096;

/// Slots in a [`Window`]: every position of a window (trigrams cannot overlap, so there are at most
/// `WINDOW / 3 + 1`), plus the up to 64 the SIMD loop writes past the last one, rounded up.
const WINDOW_SLOTS: usize = WINDOW / 3 + 72;

/// The output of [`Anchors::window`].
#[derive(Debug, Clone)]
pub struct Window([u16; WINDOW_SLOTS]);

impl Default for Window {
    fn default() -> Self {
        Window([0; WINDOW_SLOTS])
    }
}

impl Window {
    /// The first `n` offsets.
    pub fn offsets(&self, n: usize) -> &[u16] {
        &self.0[..n]
    }
}

/// The scalar part of [`Anchors::window`]: positions `from..` up to the end of the window that starts
/// at `at`, appended to `out[k..]`; returns the new count.
fn window_scalar(hay: &[u8], at: usize, from: usize, out: &mut [u16], mut k: usize) -> usize {
    let end = (at + WINDOW).min(hay.len().saturating_sub(2));
    for i in from..end {
        if is_anchor(hay, i) {
            out[k] = (i - at) as u16;
            k += 1;
        }
    }
    k
}

/// Iterator over trigram positions, from [`Anchors::iter`].
#[derive(Debug)]
pub struct AnchorIter<'a, 'h> {
    anchors: &'a Anchors,
    hay: &'h [u8],
    /// Start of the block `mask` describes.
    base: usize,
    /// Trigrams of the current block not yet returned.
    mask: u64,
    /// Where the search for the next block starts.
    next_block: usize,
}

impl Iterator for AnchorIter<'_, '_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.mask == 0 {
            let block = self.anchors.next_block(self.hay, self.next_block)?;
            self.base = block.start;
            self.mask = block.mask;
            self.next_block = block.start + block.width;
        }
        let bit = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.base + bit)
    }
}

/// A run of positions and which of them start a trigram.
#[derive(Debug, Clone, Copy)]
struct Block {
    /// The first position.
    start: usize,
    /// Bit `k` is set when a trigram starts at `start + k`.
    mask: u64,
    /// How many positions the block covers (at most 64).
    width: usize,
}

/// The 64 positions from `at`, checked one by one.
fn scalar_block(hay: &[u8], at: usize) -> Block {
    let mut mask = 0u64;
    for i in at..hay.len().saturating_sub(2).min(at + 64) {
        if is_anchor(hay, i) {
            mask |= 1 << (i - at);
        }
    }
    Block {
        start: at,
        mask,
        width: 64,
    }
}

/// The first block with a trigram from `at` to the end, checked one by one (the last few bytes, where
/// a vector load would read past the end).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn tail(hay: &[u8], mut at: usize) -> Option<Block> {
    while at + 2 < hay.len() {
        let block = scalar_block(hay, at);
        if block.mask != 0 {
            return Some(block);
        }
        at += 64;
    }
    None
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{tail, Block};
    use std::arch::x86_64::*;

    /// The trigram mask of the 32 positions starting at `p`: bit `k` is set when a trigram starts at
    /// `p + k`.
    ///
    /// # Safety
    /// AVX2 is available and `p..p + 34` is readable.
    #[inline(always)]
    unsafe fn mask32(p: *const u8) -> u32 {
        unsafe { _mm256_movemask_epi8(hits32(p)) as u32 }
    }

    /// The same as a vector: byte `k` is 0xff when a trigram starts at `p + k`.
    ///
    /// # Safety
    /// AVX2 is available and `p..p + 34` is readable.
    #[inline(always)]
    unsafe fn hits32(p: *const u8) -> __m256i {
        unsafe {
            let fold = _mm256_set1_epi8(0x20);
            let v0 = _mm256_or_si256(_mm256_loadu_si256(p as *const __m256i), fold);
            let v1 = _mm256_or_si256(_mm256_loadu_si256(p.add(1) as *const __m256i), fold);
            let v2 = _mm256_or_si256(_mm256_loadu_si256(p.add(2) as *const __m256i), fold);
            let atu = _mm256_and_si256(
                _mm256_and_si256(
                    _mm256_cmpeq_epi8(v0, _mm256_set1_epi8(b'a' as i8)),
                    _mm256_cmpeq_epi8(v1, _mm256_set1_epi8(b't' as i8)),
                ),
                _mm256_cmpeq_epi8(v2, _mm256_set1_epi8(b'u' as i8)),
            );
            let sul = _mm256_and_si256(
                _mm256_and_si256(
                    _mm256_cmpeq_epi8(v0, _mm256_set1_epi8(b's' as i8)),
                    _mm256_cmpeq_epi8(v1, _mm256_set1_epi8(b'u' as i8)),
                ),
                _mm256_cmpeq_epi8(v2, _mm256_set1_epi8(b'l' as i8)),
            );
            _mm256_or_si256(atu, sul)
        }
    }

    /// [`window`] compiled for AVX2 with POPCNT and BMI1 (one instruction each for counting the
    /// positions of a chunk and clearing the lowest; 3-4% faster on the whole rewrite).
    ///
    /// # Safety
    /// The CPU must support AVX2, POPCNT and BMI1. `out` has room for a window's positions plus 68.
    #[target_feature(enable = "avx2,popcnt,bmi1")]
    pub unsafe fn window_avx2_bmi<const SPARSE: bool>(
        hay: &[u8],
        at: usize,
        out: &mut [u16],
    ) -> usize {
        // SAFETY: as for this function.
        unsafe { window::<SPARSE>(hay, at, out) }
    }

    /// [`window`] compiled for AVX2 alone.
    ///
    /// # Safety
    /// The CPU must support AVX2. `out` has room for a window's positions plus 68.
    #[target_feature(enable = "avx2")]
    pub unsafe fn window_avx2<const SPARSE: bool>(hay: &[u8], at: usize, out: &mut [u16]) -> usize {
        // SAFETY: as for this function.
        unsafe { window::<SPARSE>(hay, at, out) }
    }

    /// AVX2 form of [`super::Anchors::window`]: 64 positions per step, their offsets written four at a
    /// time whether there are any or not (`k` only moves on by how many there are), so that the loop
    /// has no branch on the text but the rare one for a chunk with more than four.
    ///
    /// # Safety
    /// The CPU must support AVX2 (and the caller is compiled for it). `out` has room for a window's
    /// positions plus 68.
    #[inline(always)]
    unsafe fn window<const SPARSE: bool>(hay: &[u8], at: usize, out: &mut [u16]) -> usize {
        let n = hay.len();
        let end = at.saturating_add(super::WINDOW);
        let ptr = hay.as_ptr();
        let mut i = at;
        let mut k = 0;
        // Each step reads hay[i..i + 66] and covers positions i..i + 64 of the window.
        while i + 66 <= n && i + 64 <= end {
            // SAFETY: i + 66 <= n.
            let mut mask = unsafe {
                u64::from(_mm256_movemask_epi8(hits32(ptr.add(i))) as u32)
                    | u64::from(_mm256_movemask_epi8(hits32(ptr.add(i + 32))) as u32) << 32
            };
            if SPARSE && mask == 0 {
                i += 64;
                continue;
            }
            let count = mask.count_ones() as usize;
            let base = (i - at) as u16;
            // Four slots written in any case (`k + 4` stays within `out`: `k` counts positions of the
            // window so far, and there is room for all of them plus 68).
            let slots = &mut out[k..k + 4];
            for slot in slots {
                *slot = base + mask.trailing_zeros() as u16;
                mask &= mask.wrapping_sub(1);
            }
            if count > 4 {
                let mut j = k + 4;
                while mask != 0 {
                    out[j] = base + mask.trailing_zeros() as u16;
                    mask &= mask - 1;
                    j += 1;
                }
            }
            k += count;
            i += 64;
        }
        super::window_scalar(hay, at, i, out, k)
    }

    /// AVX2: the next block from `at` with a trigram: its start, mask and width (32 positions, or 64
    /// for the scalar tail).
    ///
    /// One 32-byte step per iteration on purpose: combining two masks into one test made LLVM rebuild
    /// the bits byte by byte on every hit.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn next_block_avx2(hay: &[u8], mut at: usize) -> Option<Block> {
        let n = hay.len();
        let ptr = hay.as_ptr();
        // Each step reads hay[at..at + 34].
        while at + 34 <= n {
            // SAFETY: at + 34 <= n.
            let mask = unsafe { mask32(ptr.add(at)) };
            if mask != 0 {
                return Some(Block {
                    start: at,
                    mask: u64::from(mask),
                    width: 32,
                });
            }
            at += 32;
        }
        tail(hay, at)
    }

    /// The trigram mask of the 16 positions starting at `p` (SSE2).
    ///
    /// # Safety
    /// `p..p + 18` is readable.
    #[inline(always)]
    unsafe fn mask16(p: *const u8) -> u32 {
        unsafe {
            let fold = _mm_set1_epi8(0x20);
            let v0 = _mm_or_si128(_mm_loadu_si128(p as *const __m128i), fold);
            let v1 = _mm_or_si128(_mm_loadu_si128(p.add(1) as *const __m128i), fold);
            let v2 = _mm_or_si128(_mm_loadu_si128(p.add(2) as *const __m128i), fold);
            let atu = _mm_and_si128(
                _mm_and_si128(
                    _mm_cmpeq_epi8(v0, _mm_set1_epi8(b'a' as i8)),
                    _mm_cmpeq_epi8(v1, _mm_set1_epi8(b't' as i8)),
                ),
                _mm_cmpeq_epi8(v2, _mm_set1_epi8(b'u' as i8)),
            );
            let sul = _mm_and_si128(
                _mm_and_si128(
                    _mm_cmpeq_epi8(v0, _mm_set1_epi8(b's' as i8)),
                    _mm_cmpeq_epi8(v1, _mm_set1_epi8(b'u' as i8)),
                ),
                _mm_cmpeq_epi8(v2, _mm_set1_epi8(b'l' as i8)),
            );
            _mm_movemask_epi8(_mm_or_si128(atu, sul)) as u32
        }
    }

    /// SSE2: the next block from `at` with a trigram: its start, mask and width (16 positions, or 64
    /// for the scalar tail).
    ///
    /// # Safety
    /// None beyond x86_64 itself (SSE2 is always there).
    #[target_feature(enable = "sse2")]
    pub unsafe fn next_block_sse2(hay: &[u8], mut at: usize) -> Option<Block> {
        let n = hay.len();
        let ptr = hay.as_ptr();
        while at + 18 <= n {
            // SAFETY: at + 18 <= n.
            let mask = unsafe { mask16(ptr.add(at)) };
            if mask != 0 {
                return Some(Block {
                    start: at,
                    mask: u64::from(mask),
                    width: 16,
                });
            }
            at += 16;
        }
        tail(hay, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_case_variant_at_every_offset() {
        let finder = Anchors::new();
        for word in ["atu", "ATU", "aTu", "sul", "SUL", "sUl"] {
            for offset in 0..80 {
                for tail in 0..40 {
                    let mut hay = vec![b'x'; offset];
                    hay.extend_from_slice(word.as_bytes());
                    hay.extend(std::iter::repeat_n(b'y', tail));
                    assert_eq!(
                        finder.find(&hay, 0),
                        Some(offset),
                        "{word} at {offset}+{tail}"
                    );
                    assert_eq!(finder.find(&hay, offset + 1), None);
                }
            }
        }
    }

    #[test]
    fn agrees_with_the_scalar_search_on_tricky_bytes() {
        // bytes that fold onto the letters with other bits set must not match
        let noise: Vec<u8> = (0u8..=255).cycle().take(5000).collect();
        let finder = Anchors::new();
        let mut hay = noise.clone();
        hay.extend_from_slice(b"..StAtUs..");
        hay.extend_from_slice(&noise);
        let mut from = 0;
        loop {
            let (fast, slow) = (finder.find(&hay, from), Anchors::find_portable(&hay, from));
            assert_eq!(fast, slow, "from {from}");
            match fast {
                Some(i) => from = i + 1,
                None => break,
            }
        }
        assert!(finder.find(b"at", 0).is_none());
        assert!(finder.find(b"", 0).is_none());
    }

    /// Every trigram position in `at..at + WINDOW`, from the scalar search.
    fn expected_window(hay: &[u8], at: usize) -> Vec<usize> {
        let mut found = Vec::new();
        let mut from = at;
        while let Some(i) = Anchors::find_portable(hay, from) {
            if i >= at + WINDOW {
                break;
            }
            found.push(i - at);
            from = i + 1;
        }
        found
    }

    fn window_of(finder: &Anchors, hay: &[u8], at: usize, sparse: bool) -> Vec<usize> {
        let mut out = Window::default();
        let n = finder.window(hay, at, &mut out, sparse);
        out.offsets(n).iter().map(|&o| usize::from(o)).collect()
    }

    /// The searchers this CPU can run: each instruction set the CPU has, and none.
    fn every_searcher() -> Vec<Anchors> {
        let best = Anchors::new();
        #[cfg(target_arch = "x86_64")]
        {
            let mut all = vec![Anchors {
                avx2: false,
                bmi: false,
            }];
            if best.avx2 {
                all.push(Anchors {
                    avx2: true,
                    bmi: false,
                });
            }
            if best.avx2 && best.bmi {
                all.push(best);
            }
            all
        }
        #[cfg(not(target_arch = "x86_64"))]
        vec![best]
    }

    #[test]
    fn windows_agree_with_the_scalar_search() {
        // tricky bytes, then chunks crowded with trigrams (more than four per 64 bytes), then sparse ones
        let mut hay: Vec<u8> = (0u8..=255).cycle().take(5000).collect();
        hay.extend(b"atusulATUSULaTuSuL".iter().cycle().take(3000));
        for i in 0..200 {
            hay.extend(std::iter::repeat_n(b'.', i % 97));
            hay.extend_from_slice(if i % 2 == 0 { b"Status" } else { b"result" });
        }
        for finder in every_searcher() {
            windows_agree(&finder, &hay);
        }
    }

    fn windows_agree(finder: &Anchors, hay: &[u8]) {
        let mut total = 0;
        for at in (0..hay.len())
            .step_by(61)
            .chain([hay.len() - 3, hay.len() - 2, hay.len()])
        {
            // every alignment of the window start, and the windows that end inside the last 64 bytes
            let expected = expected_window(hay, at);
            total += expected.len();
            for sparse in [false, true] {
                assert_eq!(window_of(finder, hay, at, sparse), expected, "at {at}");
            }
            let cut = &hay[..(at + 70).min(hay.len())];
            assert_eq!(window_of(finder, cut, at, false), expected_window(cut, at));
        }
        assert!(total > 10_000, "the test text has few trigrams: {total}");
        // the fullest window possible: a trigram every third byte
        let full: Vec<u8> = b"atu".iter().cycle().take(3 * WINDOW).copied().collect();
        let n = window_of(finder, &full, 0, false).len();
        assert_eq!(n, WINDOW.div_ceil(3));
        assert_eq!(window_of(finder, b"", 0, true), Vec::<usize>::new());
    }
}
