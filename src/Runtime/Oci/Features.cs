namespace Berth.Runtime.Oci;

/// <summary>PROVISIONAL: replaced by the hooks branch.</summary>
public static class Features
{
    public static string ToJson(string version) => $"{{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"{RuntimeSpec.Version}\"}}";
}
