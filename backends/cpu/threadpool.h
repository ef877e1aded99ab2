// A pool of persistent worker threads for the CPU backend.
//
// run(fn) executes fn(ith, nth) on every thread of the pool at once (the calling thread is ith = 0) and returns
// when all have finished. Workers wait for work by spinning for a short while (work usually follows within
// microseconds during a forward pass) and then sleep, so that an idle or preempted pool gives its cores to the
// host program: a game's threads competing for the same cores must not make r1 collapse, nor r1 starve them.
// No allocation happens per call.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace r1::cpu {

class ThreadPool {
public:
    using Task = void (*)(void* ctx, int ith, int nth);

    // n_threads >= 1 (the caller counts as one). spin_us: how long a waiting thread spins before sleeping.
    explicit ThreadPool(int n_threads, int spin_us = 100);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Runs task(ctx, ith, nth) for ith in [0, nth) and waits for all of them. Not reentrant: one run at a time.
    void run(Task task, void* ctx);

    // Convenience: runs a callable f(ith, nth).
    template <class F>
    void run(F&& f) {
        run([](void* c, int ith, int nth) { (*static_cast<F*>(c))(ith, nth); }, static_cast<void*>(&f));
    }

    // Like run(), for tasks that claim their work dynamically (a ChunkQueue), so that any subset of the threads
    // completes all of it: the caller runs task(ctx, 0, nth), then waits only for the workers that started
    // before it finished. A worker that the host program has preempted, or that is still waking up, joins late
    // and finds the generation closed; the caller never waits for it to be scheduled. This is what keeps a
    // 2-thread pool at least as fast as 1 thread when another program occupies a core.
    // The pool also notices when the workers cost more than they help (see kWindow below) and then lets the
    // caller work alone for a while, so that more threads are never slower than one.
    void run_dynamic(Task task, void* ctx);
    // Calls of run_dynamic() the caller ran alone so far (for tests and benchmarks).
    uint64_t solo_calls() const { return solo_calls_; }
    template <class F>
    void run_dynamic(F&& f) {
        run_dynamic([](void* c, int ith, int nth) { (*static_cast<F*>(c))(ith, nth); }, static_cast<void*>(&f));
    }

private:
    void worker_main(int ith);
    // Spins until pred() holds or the spin budget runs out; returns pred().
    template <class Pred>
    bool spin_until(Pred pred) const;

    const int n_threads_;
    const int spin_us_;
    std::vector<std::thread> workers_;

    Task task_ = nullptr;
    void* ctx_ = nullptr;
    bool dynamic_ = false;                 // the current generation was started by run_dynamic()
    std::atomic<uint64_t> generation_{0};  // bumped once per run(); workers run each generation once
    std::atomic<int> pending_{0};          // run(): workers that have not finished the current generation
    // run_dynamic(): the generation's low 32 bits, a closed bit and the count of workers that joined, in one word,
    // so that joining is one compare-and-swap against exactly this generation; finished_ counts those done.
    std::atomic<uint64_t> join_{0};
    std::atomic<int> finished_{0};

    // Whether the workers help (run_dynamic only). Over windows of kWindow calls the caller compares the time it
    // spent waiting for joined workers with the CPU time those workers spent in the tasks; when waiting costs
    // more than the workers contribute (a worker keeps being preempted while it holds a chunk, because the host
    // program occupies its core), the caller works alone for the next solo_length_ calls (kSolo, doubled after
    // each window that finds the same, up to kSoloMax: about 70 tokens of a 1.5B model), then measures again.
    static constexpr int kWindow = 64;
    static constexpr int kSolo = 2048;
    static constexpr int kSoloMax = 16384;
    int window_calls_ = 0;
    int solo_left_ = 0;
    int solo_length_ = kSolo;
    int64_t window_wait_ns_ = 0;
    std::atomic<int64_t> window_worker_ns_{0};
    uint64_t solo_calls_ = 0;
    std::atomic<int> sleeping_workers_{0};
    std::atomic<bool> caller_sleeping_{false};
    std::atomic<bool> stop_{false};

    std::mutex mutex_;
    std::condition_variable work_cv_;
    std::condition_variable done_cv_;
};

// Hands out chunks [begin, end) of a range to threads that ask, so that a thread that runs ahead takes more
// work and a preempted one holds back only the chunk it has claimed.
class ChunkQueue {
public:
    void reset(int64_t total, int64_t chunk) {
        total_ = total;
        chunk_ = chunk > 0 ? chunk : 1;
        next_.store(0, std::memory_order_relaxed);
    }
    // Claims the next chunk; false when none is left.
    bool next(int64_t* begin, int64_t* end) {
        int64_t b = next_.fetch_add(chunk_, std::memory_order_relaxed);
        if (b >= total_) return false;
        *begin = b;
        *end = b + chunk_ < total_ ? b + chunk_ : total_;
        return true;
    }

private:
    std::atomic<int64_t> next_{0};
    int64_t total_ = 0;
    int64_t chunk_ = 1;
};

}  // namespace r1::cpu
