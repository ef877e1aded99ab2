#include "threadpool.h"

#include <time.h>

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define R1_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define R1_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define R1_CPU_RELAX() ((void)0)
#endif

namespace r1::cpu {

ThreadPool::ThreadPool(int n_threads, int spin_us)
    : n_threads_(n_threads < 1 ? 1 : n_threads), spin_us_(spin_us < 0 ? 0 : spin_us) {
    workers_.reserve(size_t(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
        generation_.fetch_add(1);
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
}

template <class Pred>
bool ThreadPool::spin_until(Pred pred) const {
    if (pred()) return true;
    if (spin_us_ == 0) return false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (pred()) return true;
            R1_CPU_RELAX();
        }
        if (std::chrono::steady_clock::now() >= deadline) return pred();
    }
}

namespace {
int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
// CPU time of the calling thread: unlike wall time it excludes the time a preempted worker waits for a core.
int64_t thread_cpu_ns() {
    timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
constexpr uint64_t kJoinClosed = uint64_t(1) << 31;
constexpr uint64_t kJoinCount = kJoinClosed - 1;
uint64_t join_word(uint64_t generation) { return (generation & 0xFFFFFFFFu) << 32; }
}  // namespace

void ThreadPool::run_dynamic(Task task, void* ctx) {
    if (n_threads_ == 1) {
        task(ctx, 0, 1);
        return;
    }
    if (solo_left_ > 0) {  // the workers cost more than they helped: alone for a while (any subset completes)
        --solo_left_;
        ++solo_calls_;
        task(ctx, 0, n_threads_);
        return;
    }
    task_ = task;
    ctx_ = ctx;
    dynamic_ = true;
    finished_.store(0, std::memory_order_relaxed);
    const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
    join_.store(join_word(generation), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);  // publishes task_, ctx_, join_ (see run())
    if (sleeping_workers_.load(std::memory_order_seq_cst) > 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        work_cv_.notify_all();
    }
    task(ctx, 0, n_threads_);
    // Close the generation: workers that have not joined yet will not start it.
    const int joined = int(join_.fetch_or(kJoinClosed, std::memory_order_seq_cst) & kJoinCount);
    auto done = [this, joined] { return finished_.load(std::memory_order_seq_cst) == joined; };
    const int64_t wait_start = wall_ns();
    if (!spin_until(done)) {
        std::unique_lock<std::mutex> lock(mutex_);
        caller_sleeping_.store(true, std::memory_order_seq_cst);
        done_cv_.wait(lock, done);
        caller_sleeping_.store(false, std::memory_order_relaxed);
    }
    window_wait_ns_ += wall_ns() - wait_start;
    if (++window_calls_ == kWindow) {
        // The workers of this window are all done (each call waited for the ones that joined).
        const int64_t worker_ns = window_worker_ns_.exchange(0, std::memory_order_relaxed);
        if (window_wait_ns_ > worker_ns) {
            // Each probe that finds the workers still costing more doubles the next solo stretch (up to kSoloMax),
            // so a lasting competitor costs one probe window per few hundred tokens; one that helps resets it.
            solo_left_ = solo_length_;
            solo_length_ = solo_length_ * 2 <= kSoloMax ? solo_length_ * 2 : kSoloMax;
        } else {
            solo_length_ = kSolo;
        }
        window_calls_ = 0;
        window_wait_ns_ = 0;
    }
}

void ThreadPool::run(Task task, void* ctx) {
    if (n_threads_ == 1) {
        task(ctx, 0, 1);
        return;
    }
    task_ = task;
    ctx_ = ctx;
    dynamic_ = false;
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    join_.store(join_word(generation_.load(std::memory_order_relaxed) + 1), std::memory_order_relaxed);
    // The sequentially consistent increment and the load of sleeping_workers_ pair with the workers' increment
    // of sleeping_workers_ and load of generation_: either we see a sleeper and wake it under the mutex, or it
    // sees the new generation before it sleeps.
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping_workers_.load(std::memory_order_seq_cst) > 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        work_cv_.notify_all();
    }
    task(ctx, 0, n_threads_);
    auto done = [this] { return pending_.load(std::memory_order_seq_cst) == 0; };
    if (!spin_until(done)) {
        std::unique_lock<std::mutex> lock(mutex_);
        caller_sleeping_.store(true, std::memory_order_seq_cst);
        done_cv_.wait(lock, done);
        caller_sleeping_.store(false, std::memory_order_relaxed);
    }
}

void ThreadPool::worker_main(int ith) {
    uint64_t seen = 0;
    for (;;) {
        auto has_work = [&] { return generation_.load(std::memory_order_seq_cst) != seen; };
        if (!spin_until(has_work)) {
            std::unique_lock<std::mutex> lock(mutex_);
            sleeping_workers_.fetch_add(1, std::memory_order_seq_cst);
            work_cv_.wait(lock, has_work);
            sleeping_workers_.fetch_sub(1, std::memory_order_relaxed);
        }
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load(std::memory_order_acquire)) return;
        // Join generation `seen` through its word. Nothing else shared is read before the join succeeds: a worker
        // late for a run_dynamic() generation may find the caller already publishing the next one. run() never
        // closes its word (its caller waits for every worker), so the join fails only for a late worker.
        uint64_t word = join_.load(std::memory_order_seq_cst);
        bool joined = false;
        while ((word & ~(kJoinClosed | kJoinCount)) == join_word(seen) && !(word & kJoinClosed)) {
            if (join_.compare_exchange_weak(word, word + 1, std::memory_order_seq_cst)) {
                joined = true;
                break;
            }
        }
        if (!joined) continue;
        if (dynamic_) {
            const int64_t cpu0 = thread_cpu_ns();
            task_(ctx_, ith, n_threads_);
            window_worker_ns_.fetch_add(thread_cpu_ns() - cpu0, std::memory_order_relaxed);
            finished_.fetch_add(1, std::memory_order_seq_cst);
            if (caller_sleeping_.load(std::memory_order_seq_cst)) {
                std::lock_guard<std::mutex> lock(mutex_);
                done_cv_.notify_one();
            }
            continue;
        }
        task_(ctx_, ith, n_threads_);
        if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
            caller_sleeping_.load(std::memory_order_seq_cst)) {
            std::lock_guard<std::mutex> lock(mutex_);
            done_cv_.notify_one();
        }
    }
}

}  // namespace r1::cpu
