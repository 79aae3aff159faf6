using System.Security.Cryptography;
using System.Text;

namespace Stratus.ModelGen.Output;

/// <summary>
/// The folder being generated into. Text is written as UTF-8 without BOM and with "\n" line
/// endings on every OS, so checksums do not depend on where the tool ran.
/// </summary>
internal sealed class OutputDirectory
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private readonly List<GeneratedFile> _files = [];

    public OutputDirectory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public IReadOnlyList<GeneratedFile> Files => _files;

    public void WriteBytes(string fileName, byte[] content)
    {
        File.WriteAllBytes(System.IO.Path.Combine(Path, fileName), content);
        _files.Add(new GeneratedFile(fileName, content.Length, Convert.ToHexStringLower(SHA256.HashData(content))));
    }

    public void WriteText(string fileName, string content) =>
        WriteBytes(fileName, Utf8NoBom.GetBytes(content.ReplaceLineEndings("\n")));
}
