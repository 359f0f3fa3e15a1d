// A minimal unsigned big integer for exact counts (header-only, no dependencies).
//
// Search spaces have far more stacks than 2^64 (the 40-layer MS-TCN dilation space has 11^40,
// about 2^138), and counts must be exact. This is a little-endian vector of 32-bit limbs with
// just what counting, histograms and sampling need: add, subtract, compare, multiply (by a
// small int and by another BigUint), divide by a small int, decimal text in and out, and a
// correctly rounded conversion to double for display. Nothing here wraps: a subtraction that
// would go negative throws std::domain_error; bad text throws std::invalid_argument.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rfsearch {

class BigUint {
public:
    using limb = std::uint32_t;
    using wide = std::uint64_t;
    static constexpr int limb_bits = 32;

    BigUint() = default;
    explicit BigUint(std::uint64_t value) {
        while (value != 0) {
            limbs_.push_back(static_cast<limb>(value & 0xffffffffu));
            value >>= limb_bits;
        }
    }

    // Decimal digits only (leading zeros allowed, no sign, no spaces).
    static BigUint from_string(const std::string& text) {
        if (text.empty()) throw std::invalid_argument("BigUint: empty number");
        BigUint out;
        std::size_t pos = 0;
        const std::size_t head = text.size() % 9 == 0 ? 9 : text.size() % 9;
        for (std::size_t len = head; pos < text.size(); pos += len, len = 9) {
            limb chunk = 0, scale = 1;
            for (std::size_t i = pos; i < pos + len; ++i) {
                const char c = text[i];
                if (c < '0' || c > '9') throw std::invalid_argument("BigUint: not a decimal digit in '" + text + "'");
                chunk = chunk * 10u + static_cast<limb>(c - '0');
                scale *= 10u;
            }
            out.mul_small(scale);
            out += BigUint(chunk);
        }
        return out;
    }

    // From little-endian 32-bit limbs (leading zero limbs allowed).
    static BigUint from_limbs(const limb* data, std::size_t n) {
        BigUint out;
        out.limbs_.assign(data, data + n);
        out.trim();
        return out;
    }

    // From / to little-endian bytes (how the Python binding moves values of any size: Python's
    // int.to_bytes / int.from_bytes with "little"). to_bytes gives no byte for zero.
    static BigUint from_bytes(const std::string& bytes) {
        BigUint out;
        out.limbs_.assign((bytes.size() + 3) / 4, 0);
        for (std::size_t i = 0; i < bytes.size(); ++i)
            out.limbs_[i / 4] |= static_cast<limb>(static_cast<unsigned char>(bytes[i])) << (8 * (i % 4));
        out.trim();
        return out;
    }
    std::string to_bytes() const {
        std::string out;
        out.reserve(limbs_.size() * 4);
        for (limb l : limbs_)
            for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((l >> (8 * b)) & 0xffu));
        while (!out.empty() && out.back() == '\0') out.pop_back();
        return out;
    }

    std::string to_string() const {
        if (is_zero()) return "0";
        BigUint rest = *this;
        std::vector<limb> chunks;  // base 10^9, least significant first
        while (!rest.is_zero()) chunks.push_back(rest.divmod_small(1000000000u));
        std::string out = std::to_string(chunks.back());
        for (std::size_t i = chunks.size() - 1; i-- > 0;) {
            std::string part = std::to_string(chunks[i]);
            out.append(9 - part.size(), '0');
            out += part;
        }
        return out;
    }

    bool is_zero() const noexcept { return limbs_.empty(); }
    const std::vector<limb>& limbs() const noexcept { return limbs_; }

    // Number of bits (0 for zero).
    std::size_t bit_length() const noexcept {
        if (limbs_.empty()) return 0;
        std::size_t bits = (limbs_.size() - 1) * limb_bits;
        for (limb top = limbs_.back(); top != 0; top >>= 1) ++bits;
        return bits;
    }

    bool bit(std::size_t index) const noexcept {
        const std::size_t word = index / limb_bits;
        return word < limbs_.size() && ((limbs_[word] >> (index % limb_bits)) & 1u) != 0;
    }

    // The value as a double, correctly rounded (to nearest, ties to even); +inf past DBL_MAX.
    double to_double() const noexcept {
        const std::size_t n = bit_length();
        if (n <= 64) return static_cast<double>(low_u64());
        // The top 64 bits, with every lower bit folded into the lowest one ("sticky"): the
        // conversion to 53 bits then rounds exactly as the full value would.
        const std::size_t shift = n - 64;
        std::uint64_t top = 0;
        for (std::size_t i = 0; i < 64; ++i)
            if (bit(shift + i)) top |= std::uint64_t{1} << i;
        bool sticky = false;
        for (std::size_t w = 0; w < shift / limb_bits && !sticky; ++w) sticky = limbs_[w] != 0;
        for (std::size_t i = (shift / limb_bits) * limb_bits; i < shift && !sticky; ++i) sticky = bit(i);
        if (sticky) top |= 1u;
        return std::ldexp(static_cast<double>(top), static_cast<int>(std::min<std::size_t>(shift, 4096)));
    }

    BigUint& operator+=(const BigUint& other) {
        if (other.limbs_.size() > limbs_.size()) limbs_.resize(other.limbs_.size(), 0);
        wide carry = 0;
        for (std::size_t i = 0; i < limbs_.size(); ++i) {
            wide sum = carry + limbs_[i] + (i < other.limbs_.size() ? other.limbs_[i] : 0u);
            limbs_[i] = static_cast<limb>(sum & 0xffffffffu);
            carry = sum >> limb_bits;
            if (carry == 0 && i >= other.limbs_.size()) break;
        }
        if (carry != 0) limbs_.push_back(static_cast<limb>(carry));
        return *this;
    }

    // this -= other; std::domain_error if other > this (the value is then unchanged).
    BigUint& operator-=(const BigUint& other) {
        if (compare(*this, other) < 0) throw std::domain_error("BigUint: subtraction would be negative");
        wide borrow = 0;
        for (std::size_t i = 0; i < limbs_.size(); ++i) {
            const wide take = borrow + (i < other.limbs_.size() ? other.limbs_[i] : 0u);
            if (take == 0 && i >= other.limbs_.size()) break;
            const wide have = limbs_[i];
            if (have >= take) {
                limbs_[i] = static_cast<limb>(have - take);
                borrow = 0;
            } else {
                limbs_[i] = static_cast<limb>((have + (wide{1} << limb_bits)) - take);
                borrow = 1;
            }
        }
        trim();
        return *this;
    }

    BigUint& mul_small(limb factor) {
        if (factor == 0) {
            limbs_.clear();
            return *this;
        }
        wide carry = 0;
        for (limb& l : limbs_) {
            const wide prod = static_cast<wide>(l) * factor + carry;
            l = static_cast<limb>(prod & 0xffffffffu);
            carry = prod >> limb_bits;
        }
        if (carry != 0) limbs_.push_back(static_cast<limb>(carry));
        return *this;
    }

    // this /= divisor (divisor > 0); returns the remainder.
    limb divmod_small(limb divisor) {
        if (divisor == 0) throw std::domain_error("BigUint: division by zero");
        wide rem = 0;
        for (std::size_t i = limbs_.size(); i-- > 0;) {
            const wide cur = (rem << limb_bits) | limbs_[i];
            limbs_[i] = static_cast<limb>(cur / divisor);
            rem = cur % divisor;
        }
        trim();
        return static_cast<limb>(rem);
    }

    friend BigUint operator*(const BigUint& a, const BigUint& b) {
        BigUint out;
        if (a.is_zero() || b.is_zero()) return out;
        out.limbs_.assign(a.limbs_.size() + b.limbs_.size(), 0);
        for (std::size_t i = 0; i < a.limbs_.size(); ++i) {
            wide carry = 0;
            for (std::size_t j = 0; j < b.limbs_.size(); ++j) {
                // a_i * b_j + out + carry <= (2^32-1)^2 + 2*(2^32-1) = 2^64 - 1: no overflow.
                const wide cur = static_cast<wide>(a.limbs_[i]) * b.limbs_[j] + out.limbs_[i + j] + carry;
                out.limbs_[i + j] = static_cast<limb>(cur & 0xffffffffu);
                carry = cur >> limb_bits;
            }
            out.limbs_[i + b.limbs_.size()] = static_cast<limb>(carry);
        }
        out.trim();
        return out;
    }
    BigUint& operator*=(const BigUint& other) { return *this = *this * other; }

    friend BigUint operator+(BigUint a, const BigUint& b) { return a += b; }
    friend BigUint operator-(BigUint a, const BigUint& b) { return a -= b; }

    // -1, 0 or 1.
    friend int compare(const BigUint& a, const BigUint& b) noexcept {
        if (a.limbs_.size() != b.limbs_.size()) return a.limbs_.size() < b.limbs_.size() ? -1 : 1;
        for (std::size_t i = a.limbs_.size(); i-- > 0;)
            if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] < b.limbs_[i] ? -1 : 1;
        return 0;
    }
    friend bool operator==(const BigUint& a, const BigUint& b) noexcept { return compare(a, b) == 0; }
    friend bool operator!=(const BigUint& a, const BigUint& b) noexcept { return compare(a, b) != 0; }
    friend bool operator<(const BigUint& a, const BigUint& b) noexcept { return compare(a, b) < 0; }
    friend bool operator<=(const BigUint& a, const BigUint& b) noexcept { return compare(a, b) <= 0; }
    friend bool operator>(const BigUint& a, const BigUint& b) noexcept { return compare(a, b) > 0; }
    friend bool operator>=(const BigUint& a, const BigUint& b) noexcept { return compare(a, b) >= 0; }

    // The value if it fits in 64 bits (check bit_length() <= 64 first); else its low 64 bits.
    std::uint64_t low_u64() const noexcept {
        std::uint64_t out = 0;
        for (std::size_t i = std::min<std::size_t>(limbs_.size(), 2); i-- > 0;) out = (out << limb_bits) | limbs_[i];
        return out;
    }

private:
    std::vector<limb> limbs_;  // little-endian; no zero limb at the top (zero is empty)

    void trim() noexcept {
        while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
    }
};

}  // namespace rfsearch
