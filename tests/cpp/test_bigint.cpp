// bigint.hpp compiled and checked alone: exact values computed independently (Python ints).
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "rfsearch/bigint.hpp"

using rfsearch::BigUint;

#include "check.hpp"

static const char* const P11_40 = "452592555681759518058893560348969204658401";  // 11^40
static const char* const P11_20 = "672749994932560009201";                       // 11^20
static const char* const P2_200 = "1606938044258990275541962092341162602522202993782792835301376";
static const char* const P11_40_MINUS_2_128 = "452252273314838579595430185741537436446945";
static const char* const P2_200_MINUS_11_40 = "1606938044258990275089369536659403084463309433433823630642975";

static BigUint power(std::uint32_t base, int exponent) {
    BigUint out(1);
    for (int i = 0; i < exponent; ++i) out.mul_small(base);
    return out;
}

struct Lcg {
    std::uint64_t state;
    std::uint64_t next() {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return state >> 11;
    }
};

static BigUint random_big(Lcg& rng, int limbs) {
    BigUint out;
    for (int i = 0; i < limbs; ++i) {
        out.mul_small(65536u);
        out.mul_small(65536u);
        out += BigUint(rng.next() & 0xffffffffu);
    }
    return out;
}

int main() {
    // Text in and out.
    CHECK(BigUint().to_string() == "0");
    CHECK(BigUint::from_string("0").is_zero());
    CHECK(BigUint::from_string("000123").to_string() == "123");
    CHECK(BigUint::from_string(P11_40).to_string() == P11_40);
    CHECK(BigUint(18446744073709551615ULL).to_string() == "18446744073709551615");
    CHECK(BigUint::from_string("1000000000").to_string() == "1000000000");  // a whole 10^9 chunk
    CHECK(BigUint::from_string("999999999999999999").to_string() == "999999999999999999");
    for (const char* bad : {"", "12a", "-1", " 1", "1.0"}) {
        bool threw = false;
        try {
            BigUint::from_string(bad);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    }

    // Bytes (little-endian) and limbs in and out: what the Python binding moves.
    {
        const BigUint v = BigUint::from_string(P11_40);
        CHECK(BigUint::from_bytes(v.to_bytes()) == v);
        CHECK(v.to_bytes().size() == 18);  // 139 bits
        CHECK(BigUint().to_bytes().empty() && BigUint::from_bytes("").is_zero());
        CHECK(BigUint::from_bytes(std::string("\x01\x00\x00\x00\x00", 5)) == BigUint(1));  // high zero bytes
        CHECK(BigUint::from_bytes(std::string("\x00\x01", 2)) == BigUint(256));
        const std::uint32_t limbs[] = {0u, 1u, 0u};
        CHECK(BigUint::from_limbs(limbs, 3) == BigUint(std::uint64_t{1} << 32));
        CHECK(BigUint::from_limbs(limbs, 0).is_zero());
    }

    // Powers by repeated small multiplication, and by full multiplication.
    const BigUint p11_40 = power(11, 40), p2_200 = power(2, 200), p2_128 = power(2, 128);
    CHECK(p11_40.to_string() == P11_40);
    CHECK(p2_200.to_string() == P2_200);
    CHECK(power(11, 20).to_string() == P11_20);
    CHECK(power(11, 20) * power(11, 20) == p11_40);
    CHECK(BigUint::from_string(P11_20) * BigUint::from_string(P11_20) == p11_40);
    CHECK(power(2, 100) * power(2, 100) == p2_200);
    CHECK((BigUint(0) * p11_40).is_zero());
    CHECK(p2_200.bit_length() == 201);
    CHECK(p11_40.bit_length() == 139);
    CHECK(BigUint().bit_length() == 0);
    CHECK(p11_40 > p2_128);  // the MS-TCN space's count is beyond 128 bits

    // Differences (exact) and the refusal to go negative.
    CHECK((p11_40 - p2_128).to_string() == P11_40_MINUS_2_128);
    CHECK((p2_200 - p11_40).to_string() == P2_200_MINUS_11_40);
    CHECK((p11_40 - p11_40).is_zero());
    {
        BigUint small(5);
        bool threw = false;
        try {
            small -= p11_40;
        } catch (const std::domain_error&) {
            threw = true;
        }
        CHECK(threw);
        CHECK(small == BigUint(5));
    }
    // Borrow across many limbs: 2^200 - 1 is 200 one bits.
    {
        BigUint x = p2_200 - BigUint(1);
        CHECK(x.bit_length() == 200);
        CHECK(x + BigUint(1) == p2_200);
    }

    // Ordering.
    CHECK(BigUint(3) < BigUint(4) && BigUint(4) > BigUint(3) && BigUint(4) >= BigUint(4));
    CHECK(compare(p2_128, p11_40) == -1 && compare(p11_40, p11_40) == 0 && compare(p2_200, p11_40) == 1);
    CHECK(BigUint(1ULL << 32) > BigUint(0xffffffffULL));

    // Division by a small int.
    {
        BigUint x = p11_40;
        CHECK(x.divmod_small(11) == 0u);
        CHECK(x == power(11, 39));
        BigUint y = p11_40 + BigUint(7);
        CHECK(y.divmod_small(11) == 7u);
    }

    // Doubles: correctly rounded (values from Python's float(int), which rounds correctly).
    CHECK(BigUint().to_double() == 0.0);
    CHECK(BigUint(12345).to_double() == 12345.0);
    CHECK(p11_40.to_double() == 4.525925556817595e+41);
    CHECK(p2_200.to_double() == 1.6069380442589903e+60);
    CHECK(power(3, 100).to_double() == 5.153775207320113e+47);
    CHECK(BigUint::from_string("18446744073709553665").to_double() == 1.8446744073709556e+19);  // 2^64+2^11+1: sticky
    CHECK(BigUint::from_string("36893488147419107328").to_double() == 3.6893488147419103e+19);  // tie: to even
    CHECK(BigUint::from_string("36893488147419107329").to_double() == 3.689348814741911e+19);
    CHECK(power(2, 1023).to_double() == 8.98846567431158e+307);
    CHECK(power(2, 1024).to_double() > 1.7e308);  // +inf

    // Random identities.
    Lcg rng{12345};
    for (int round = 0; round < 300; ++round) {
        const int na = 1 + static_cast<int>(rng.next() % 6), nb = 1 + static_cast<int>(rng.next() % 6);
        const BigUint a = random_big(rng, na), b = random_big(rng, nb);
        CHECK((a + b) - b == a);
        CHECK(a + b == b + a);
        CHECK(a * b == b * a);
        CHECK(BigUint::from_string(a.to_string()) == a);
        const auto small = static_cast<std::uint32_t>(rng.next() % 1000000 + 1);
        BigUint m = a;
        m.mul_small(small);
        CHECK(m == a * BigUint(small));
        const auto rem = static_cast<std::uint32_t>(rng.next() % small);
        BigUint q = m + BigUint(rem);
        CHECK(q.divmod_small(small) == rem);
        CHECK(q == a);
        CHECK((a * b + a) == a * (b + BigUint(1)));
        CHECK((a < b) == (compare(a, b) < 0));
        CHECK((a < a + BigUint(1)));
    }

    if (failures) {
        std::fprintf(stderr, "%d bigint check(s) failed\n", failures);
        return 1;
    }
    std::printf("bigint C++ checks passed\n");
    return 0;
}
