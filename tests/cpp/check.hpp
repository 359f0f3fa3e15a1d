// The one CHECK of the standalone C++ tests: a failed check is printed with its place and
// counted (`failures`), so a run reports every failure, not only the first; main() returns
// non-zero when `failures` is.
#pragma once

#include <cstdio>

static int failures = 0;
#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            std::fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                            \
        }                                                                          \
    } while (0)
