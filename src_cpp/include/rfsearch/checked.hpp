// Checked int64 arithmetic: every operation says whether it left the int64 range, so a deep
// stride-2 stack reports an overflow instead of wrapping to a silently wrong answer.
//
// GCC and Clang have exact builtins (__builtin_add_overflow, ...). Any other compiler (MSVC)
// gets the portable fallback below; define RFSEARCH_PORTABLE_BUILTINS to force it (the
// standalone C++ test is compiled both ways, tests/test_cpp_standalone.py).
#pragma once

#include <cstdint>
#include <limits>

#if !defined(RFSEARCH_PORTABLE_BUILTINS) && (defined(__GNUC__) || defined(__clang__))
#define RFSEARCH_OVERFLOW_BUILTINS 1
#else
#define RFSEARCH_OVERFLOW_BUILTINS 0
#endif

namespace rfsearch {

using i64 = std::int64_t;

namespace checked {

inline constexpr i64 max = std::numeric_limits<i64>::max();
inline constexpr i64 min = std::numeric_limits<i64>::min();

// out = a + b; returns true if that overflowed (out is then unspecified).
inline bool add(i64 a, i64 b, i64& out) noexcept {
#if RFSEARCH_OVERFLOW_BUILTINS
    return __builtin_add_overflow(a, b, &out);
#else
    if ((b > 0 && a > max - b) || (b < 0 && a < min - b)) return true;
    out = a + b;
    return false;
#endif
}

// out = a - b; returns true if that overflowed.
inline bool sub(i64 a, i64 b, i64& out) noexcept {
#if RFSEARCH_OVERFLOW_BUILTINS
    return __builtin_sub_overflow(a, b, &out);
#else
    if ((b < 0 && a > max + b) || (b > 0 && a < min + b)) return true;
    out = a - b;
    return false;
#endif
}

// out = a * b; returns true if that overflowed.
inline bool mul(i64 a, i64 b, i64& out) noexcept {
#if RFSEARCH_OVERFLOW_BUILTINS
    return __builtin_mul_overflow(a, b, &out);
#else
    // CERT INT32-C: compare against the limits by division, which cannot overflow here.
    if (a > 0) {
        if (b > 0 ? a > max / b : b < min / a) return true;
    } else if (b > 0) {
        if (a < min / b) return true;
    } else if (a != 0 && b < max / a) {
        return true;
    }
    out = a * b;
    return false;
#endif
}

// Number of trailing zero bits of v != 0.
inline int ctz(std::uint64_t v) noexcept {
#if RFSEARCH_OVERFLOW_BUILTINS
    return __builtin_ctzll(v);
#else
    int n = 0;
    while ((v & 1u) == 0) {
        v >>= 1;
        ++n;
    }
    return n;
#endif
}

}  // namespace checked
}  // namespace rfsearch
