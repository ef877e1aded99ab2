// The CPU backend's thread pool: run() runs every thread once per call; run_dynamic() completes all the work
// that its threads claim from a queue whichever of them take part, and never runs a generation twice. The
// mixes below alternate the two many times so that workers arrive late for generations that have moved on.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "../backends/cpu/threadpool.h"

using r1::cpu::ChunkQueue;
using r1::cpu::ThreadPool;

TEST_CASE("thread pool: run() runs each thread exactly once per call") {
    for (int n : {1, 2, 3, 5}) {
        CAPTURE(n);
        ThreadPool pool(n, n == 3 ? 0 : 100);  // also with no spinning: every wait sleeps
        std::vector<std::atomic<int>> calls(static_cast<size_t>(n));
        for (int rep = 0; rep < 2000; ++rep)
            pool.run([&](int ith, int nth) {
                REQUIRE(nth == n);
                calls[size_t(ith)].fetch_add(1);
            });
        for (int i = 0; i < n; ++i) CHECK(calls[size_t(i)].load() == 2000);
    }
}

TEST_CASE("thread pool: run_dynamic() completes every chunk once, mixed with run()") {
    for (int n : {1, 2, 4}) {
        for (int spin : {0, 100}) {
            CAPTURE(n);
            CAPTURE(spin);
            ThreadPool pool(n, spin);
            ChunkQueue queue;
            const int64_t total = 997;
            std::vector<std::atomic<int>> hits(static_cast<size_t>(total));
            std::atomic<int> static_calls{0};
            int64_t sum_expected = 0;
            std::atomic<int64_t> sum{0};
            for (int rep = 0; rep < 3000; ++rep) {
                if (rep % 3 == 2) {
                    pool.run([&](int, int) { static_calls.fetch_add(1); });
                    continue;
                }
                queue.reset(total, 1 + rep % 37);
                pool.run_dynamic([&](int ith, int nth) {
                    REQUIRE(ith >= 0);
                    REQUIRE(ith < nth);
                    int64_t b, e;
                    while (queue.next(&b, &e))
                        for (int64_t i = b; i < e; ++i) {
                            hits[size_t(i)].fetch_add(1, std::memory_order_relaxed);
                            sum.fetch_add(i, std::memory_order_relaxed);
                        }
                });
                sum_expected += total * (total - 1) / 2;
                // Everything is done when run_dynamic returns: nothing arrives afterwards.
                REQUIRE(sum.load() == sum_expected);
            }
            const int dynamic_runs = 3000 - 1000;
            for (int64_t i = 0; i < total; ++i) REQUIRE(hits[size_t(i)].load() == dynamic_runs);
            CHECK(static_calls.load() == 1000 * n);
        }
    }
}

TEST_CASE("thread pool: run_dynamic() does not wait for a worker that cannot start") {
    // Two threads on a machine whose other cores are busy: the caller may well finish all chunks alone. Whatever
    // the scheduling, each call returns with all the work done, and a worker that joins runs on its own index.
    ThreadPool pool(2, 0);
    ChunkQueue queue;
    std::atomic<int> by_worker{0};
    std::vector<std::thread> hogs;
    std::atomic<bool> stop{false};
    for (unsigned i = 0; i < std::thread::hardware_concurrency(); ++i)
        hogs.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) {
            }
        });
    for (int rep = 0; rep < 500; ++rep) {
        std::atomic<int64_t> done{0};
        queue.reset(64, 4);
        pool.run_dynamic([&](int ith, int) {
            int64_t b, e;
            while (queue.next(&b, &e)) {
                done.fetch_add(e - b);
                if (ith == 1) by_worker.fetch_add(1);
            }
        });
        REQUIRE(done.load() == 64);
    }
    stop = true;
    for (std::thread& t : hogs) t.join();
    MESSAGE("chunks taken by the worker under load: " << by_worker.load() << " of " << 500 * 16);
}

TEST_CASE("thread pool: a worker that holds back more than it helps is left out for a while") {
    // The worker sleeps (no CPU time) inside each chunk it claims, as a worker the host program preempts would
    // wait for its core: in any window where it joins, the caller's waits exceed the worker's CPU time, so the
    // caller then works alone for a stretch of 2048 calls. Every call still completes all its chunks.
    ThreadPool pool(2, 0);
    ChunkQueue queue;
    std::atomic<int> worker_now{0};
    auto one_call = [&] {
        std::atomic<int64_t> done{0};
        worker_now = 0;
        queue.reset(8, 1);
        pool.run_dynamic([&](int ith, int) {
            int64_t b, e;
            while (queue.next(&b, &e)) {
                if (ith == 1) {
                    worker_now.fetch_add(1);
                    std::this_thread::sleep_for(std::chrono::microseconds(300));
                } else {  // the caller computes for 50 us per chunk, time enough for the worker to wake and join
                    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
                    while (std::chrono::steady_clock::now() < until) {
                    }
                }
                done.fetch_add(e - b);
            }
        });
        REQUIRE(done.load() == 8);
        return worker_now.load();
    };
    // Until the pool notices (normally at the end of the first 64-call window; later only if a loaded machine
    // kept the worker from joining at all in a window, which costs nothing).
    int calls = 0, helped = 0;
    while (pool.solo_calls() == 0 && calls < 64 * 20) {
        helped += one_call() > 0;
        ++calls;
    }
    MESSAGE("the pool went solo after " << calls << " calls; the worker joined " << helped << " of them");
    REQUIRE(pool.solo_calls() == 1);
    CHECK(calls % 64 == 1);  // the first solo call is the first of a window
    // The stretch is 2048 calls long: the next 100 all leave the worker out.
    int worker_chunks = 0;
    for (int rep = 0; rep < 100; ++rep) worker_chunks += one_call();
    CHECK(pool.solo_calls() == 101);
    CHECK(worker_chunks == 0);
}
