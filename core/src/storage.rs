//! Fallible growable storage supplied by the environment.
//!
//! The kernel has no global allocator and every allocation may fail, so the
//! core never allocates by itself: data structures are generic over an
//! [`Alloc`] whose vectors report failure instead of aborting. The module backs
//! it with `KVec`, the host tests with `std::vec::Vec` ([`Std`]).

use core::ops::{Deref, DerefMut};

/// An allocation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocError;

/// A growable array whose growth may fail.
///
/// Only the primitives are required; the rest is built on them so that every
/// environment behaves the same.
pub trait Vector<T>: Deref<Target = [T]> + DerefMut {
    /// Returns an empty vector; never allocates.
    fn new() -> Self;

    /// Appends `value`; on failure the vector is unchanged and `value` dropped.
    fn try_push(&mut self, value: T) -> Result<(), AllocError>;

    /// Removes and returns the last element.
    fn pop(&mut self) -> Option<T>;

    /// Makes room for `additional` more elements without further allocation.
    fn try_reserve(&mut self, additional: usize) -> Result<(), AllocError>;

    /// Returns an empty vector with room for `capacity` elements.
    fn try_with_capacity(capacity: usize) -> Result<Self, AllocError>
    where
        Self: Sized,
    {
        let mut v = Self::new();
        v.try_reserve(capacity)?;
        Ok(v)
    }

    /// Drops the elements past `len`.
    fn truncate(&mut self, len: usize) {
        while self.len() > len {
            self.pop();
        }
    }

    /// Drops every element.
    fn clear(&mut self) {
        self.truncate(0);
    }

    /// Removes the element at `index` by moving the last one into its place.
    fn swap_remove(&mut self, index: usize) -> Option<T> {
        let last = self.len().checked_sub(1)?;
        if index > last {
            return None;
        }
        self.swap(index, last);
        self.pop()
    }

    /// Removes the element at `index`, keeping the order of the others.
    fn remove(&mut self, index: usize) -> Option<T> {
        if index >= self.len() {
            return None;
        }
        self[index..].rotate_left(1);
        self.pop()
    }

    /// Inserts `value` at `index` (at most `len()`), shifting the rest right.
    fn try_insert(&mut self, index: usize, value: T) -> Result<(), AllocError> {
        let index = index.min(self.len());
        self.try_push(value)?;
        self[index..].rotate_right(1);
        Ok(())
    }

    /// Grows or shrinks to `len` elements, filling with copies of `value`.
    fn try_resize(&mut self, len: usize, value: T) -> Result<(), AllocError>
    where
        T: Clone,
    {
        if len <= self.len() {
            self.truncate(len);
            return Ok(());
        }
        self.try_reserve(len - self.len())?;
        while self.len() < len {
            self.try_push(value.clone())?;
        }
        Ok(())
    }

    /// Appends a copy of every element of `other`.
    fn try_extend_from_slice(&mut self, other: &[T]) -> Result<(), AllocError>
    where
        T: Clone,
    {
        self.try_reserve(other.len())?;
        for v in other {
            self.try_push(v.clone())?;
        }
        Ok(())
    }
}

/// Where the core's data structures get their memory.
pub trait Alloc {
    /// The environment's fallible vector.
    type Vec<T>: Vector<T>;
}

/// Host storage: `std::vec::Vec`, for tests, benchmarks and user tools.
#[cfg(any(test, feature = "std"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Std;

#[cfg(any(test, feature = "std"))]
impl Alloc for Std {
    type Vec<T> = std::vec::Vec<T>;
}

#[cfg(any(test, feature = "std"))]
impl<T> Vector<T> for std::vec::Vec<T> {
    fn new() -> Self {
        std::vec::Vec::new()
    }

    fn try_push(&mut self, value: T) -> Result<(), AllocError> {
        Vector::try_reserve(self, 1)?;
        self.push(value);
        Ok(())
    }

    fn pop(&mut self) -> Option<T> {
        std::vec::Vec::pop(self)
    }

    fn try_reserve(&mut self, additional: usize) -> Result<(), AllocError> {
        std::vec::Vec::try_reserve(self, additional).map_err(|_| AllocError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn v(items: &[u32]) -> Vec<u32> {
        let mut v = <Vec<u32> as Vector<u32>>::new();
        v.try_extend_from_slice(items).unwrap();
        v
    }

    #[test]
    fn provided_methods_keep_order() {
        let mut a = v(&[1, 2, 3, 4]);
        assert_eq!(Vector::remove(&mut a, 1), Some(2));
        assert_eq!(a, [1, 3, 4]);
        a.try_insert(0, 9).unwrap();
        assert_eq!(a, [9, 1, 3, 4]);
        assert_eq!(Vector::swap_remove(&mut a, 0), Some(9));
        assert_eq!(a, [4, 1, 3]);
        assert_eq!(Vector::remove(&mut a, 3), None);
        Vector::try_resize(&mut a, 5, 7).unwrap();
        assert_eq!(a, [4, 1, 3, 7, 7]);
        Vector::truncate(&mut a, 2);
        assert_eq!(a, [4, 1]);
        Vector::clear(&mut a);
        assert!(a.is_empty());
        assert_eq!(Vector::swap_remove(&mut a, 0), None);
    }
}
