namespace Lockstep.Protocol.Generator;

/// <summary>An indenting line writer that always emits LF line endings, so output is byte-for-byte deterministic.</summary>
public sealed class CodeWriter
{
    private List<string> _lines = [];
    private int _indent;

    /// <summary>Writes one line at the current indentation (an empty line stays empty).</summary>
    public void Line(string text = "") => _lines.Add(text.Length == 0 ? "" : new string(' ', _indent * 4) + text);

    /// <summary>Appends lines that were already indented by <see cref="Capture"/>.</summary>
    public void Raw(IEnumerable<string> lines) => _lines.AddRange(lines);

    /// <summary>Writes <c>{</c>, the body one level deeper, then <c>}</c>.</summary>
    public void Block(Action body)
    {
        Line("{");
        _indent++;
        body();
        _indent--;
        Line("}");
    }

    /// <summary>Runs <paramref name="body"/> one level deeper and returns its lines instead of writing them.</summary>
    public List<string> Capture(Action body)
    {
        var saved = _lines;
        _lines = [];
        _indent++;
        try
        {
            body();
            return _lines;
        }
        finally
        {
            _indent--;
            _lines = saved;
        }
    }

    /// <summary>The text written so far, LF-terminated.</summary>
    public override string ToString() => string.Join("\n", _lines) + "\n";
}
