namespace Berth.SystemServices.Syslog;

/// <summary>
/// Many inputs, one writer. Bounded so that a stuck disk costs memory only up to a limit: past it new
/// messages are counted and dropped (the writer reports how many), inputs never block.
/// </summary>
public sealed class MessageQueue<T>
{
    private readonly Queue<T> _items = new();
    private readonly int _capacity;
    private long _dropped;
    private bool _woken;

    public MessageQueue(int capacity) => _capacity = capacity;

    public bool TryAdd(T item)
    {
        lock (_items)
        {
            if (_items.Count >= _capacity)
            {
                _dropped++;
                return false;
            }
            _items.Enqueue(item);
            if (_items.Count == 1) Monitor.Pulse(_items);
            return true;
        }
    }

    /// <summary>Adds, dropping the oldest item when full (for a forwarder, the newest messages matter most).</summary>
    public void AddDroppingOldest(T item)
    {
        lock (_items)
        {
            if (_items.Count >= _capacity)
            {
                _items.Dequeue();
                _dropped++;
            }
            _items.Enqueue(item);
            if (_items.Count == 1) Monitor.Pulse(_items);
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for at least one item, then takes up to <paramref name="max"/>.</summary>
    public int TakeBatch(List<T> into, int max, TimeSpan timeout)
    {
        lock (_items)
        {
            if (_items.Count == 0 && !_woken && timeout > TimeSpan.Zero) Monitor.Wait(_items, timeout);
            _woken = false;
            int n = 0;
            while (n < max && _items.TryDequeue(out var item))
            {
                into.Add(item);
                n++;
            }
            return n;
        }
    }

    /// <summary>Makes a waiting <see cref="TakeBatch"/> return now (shutdown).</summary>
    public void Wake()
    {
        lock (_items)
        {
            _woken = true;
            Monitor.PulseAll(_items);
        }
    }

    public int Count
    {
        get { lock (_items) return _items.Count; }
    }

    /// <summary>Dropped since the last call.</summary>
    public long TakeDropped()
    {
        lock (_items)
        {
            long d = _dropped;
            _dropped = 0;
            return d;
        }
    }
}
