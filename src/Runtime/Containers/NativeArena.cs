using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Runtime.Containers;

/// <summary>
/// Unmanaged memory for a <see cref="ChildPlan"/>: C strings, NULL-terminated string arrays and
/// structs the container child reads after clone3. Freed as a whole when the plan is disposed.
/// </summary>
internal sealed unsafe class NativeArena : IDisposable
{
    private readonly List<nint> _blocks = [];

    public void* Allocate(nint bytes)
    {
        void* p = NativeMemory.AllocZeroed((nuint)Math.Max(bytes, 1));
        _blocks.Add((nint)p);
        return p;
    }

    public T* Allocate<T>(int count = 1) where T : unmanaged => (T*)Allocate((nint)sizeof(T) * count);

    public byte* String(string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        byte* p = (byte*)Allocate(length + 1);
        fixed (char* c = value) Encoding.UTF8.GetBytes(c, value.Length, p, length);
        return p;
    }

    public byte* StringOrNull(string? value) => value is null ? null : String(value);

    public byte** Strings(IEnumerable<string> values)
    {
        var list = values as IReadOnlyList<string> ?? values.ToList();
        byte** array = (byte**)Allocate((nint)sizeof(byte*) * (list.Count + 1));
        for (int i = 0; i < list.Count; i++) array[i] = String(list[i]);
        return array;
    }

    public void Dispose()
    {
        foreach (var p in _blocks) NativeMemory.Free((void*)p);
        _blocks.Clear();
    }
}
