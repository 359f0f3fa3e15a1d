// Exact rationals num/den over int64, every operation checked (never wrapped): the jumps and
// centre lines of graphs with transposed convolutions and upsampling (jump 1/2, 2/3, ...).
//
// A Rational is kept reduced with den > 0, so equal values have equal fields. Each operation
// returns true when a result or an intermediate product would leave int64 (out is then
// unspecified). NumOps<Rational> plugs the type into the generic fold (fold.hpp).
#pragma once

#include <cstdint>

#include "checked.hpp"
#include "fold.hpp"

namespace rfsearch {

struct Rational {
    i64 num = 0;
    i64 den = 1;  // > 0; gcd(|num|, den) == 1

    friend bool operator==(const Rational& a, const Rational& b) noexcept { return a.num == b.num && a.den == b.den; }
    friend bool operator!=(const Rational& a, const Rational& b) noexcept { return !(a == b); }
    bool integral() const noexcept { return den == 1; }
};

namespace rational {

// gcd of |a| and |b| (both may be int64's minimum: computed on unsigned values).
inline std::uint64_t ugcd(i64 a, i64 b) noexcept {
    std::uint64_t x = a < 0 ? 0 - static_cast<std::uint64_t>(a) : static_cast<std::uint64_t>(a);
    std::uint64_t y = b < 0 ? 0 - static_cast<std::uint64_t>(b) : static_cast<std::uint64_t>(b);
    while (y != 0) {
        const std::uint64_t t = x % y;
        x = y;
        y = t;
    }
    return x;
}

// gcd for non-negative values (gcd(a, 0) = a), as the pattern arithmetic uses it.
inline i64 gcd(i64 a, i64 b) noexcept { return static_cast<i64>(ugcd(a, b)); }

// out = num / den reduced; den != 0. True if den == 0 or a value is int64's minimum (no negation).
inline bool make(i64 num, i64 den, Rational& out) noexcept {
    if (den == 0 || num == checked::min || den == checked::min) return true;
    if (den < 0) {
        num = -num;
        den = -den;
    }
    const i64 g = num == 0 ? den : gcd(num, den);
    out = {num / g, den / g};
    return false;
}

inline Rational from_int(i64 v) noexcept { return {v, 1}; }

inline bool add(const Rational& a, const Rational& b, Rational& out) noexcept {
    const i64 g = gcd(a.den, b.den);
    i64 den = 0, x = 0, y = 0, num = 0;
    if (checked::mul(a.den / g, b.den, den) || checked::mul(a.num, b.den / g, x) ||
        checked::mul(b.num, a.den / g, y) || checked::add(x, y, num))
        return true;
    return make(num, den, out);
}

inline bool sub(const Rational& a, const Rational& b, Rational& out) noexcept {
    if (b.num == checked::min) return true;
    return add(a, {-b.num, b.den}, out);
}

// out = a * k for an integer k.
inline bool mul_int(const Rational& a, i64 k, Rational& out) noexcept {
    if (k == 0 || a.num == 0) {
        out = {0, 1};
        return false;
    }
    const i64 g = gcd(k, a.den);
    i64 num = 0;
    if (checked::mul(a.num, k / g, num)) return true;
    return make(num, a.den / g, out);
}

// out = a / k for an integer k != 0.
inline bool div_int(const Rational& a, i64 k, Rational& out) noexcept {
    if (k == 0) return true;
    const i64 g = a.num == 0 ? 1 : gcd(a.num, k);
    i64 den = 0;
    if (checked::mul(a.den, k / g, den)) return true;
    return make(a.num / g, den, out);
}

}  // namespace rational

// The fold over rationals: rf, jump and padding as exact fractions (rf + (k_eff - 1) * jump, ...).
template <>
struct NumOps<Rational> {
    static Rational from_int(i64 v) noexcept { return rational::from_int(v); }
    static bool add(const Rational& a, const Rational& b, Rational& out) noexcept { return rational::add(a, b, out); }
    static bool mul(const Rational& a, i64 k, Rational& out) noexcept { return rational::mul_int(a, k, out); }
};

}  // namespace rfsearch
