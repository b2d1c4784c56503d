import { renderTokens, saveString, tokenize } from "../../provider/iptables/tokens";

describe("saveString", () => {
  it.each([
    ["plain", "plain"],
    ["with-dash_and_9", "with-dash_and_9"],
    ["two words", '"two words"'],
    ["pdf:a/b/rule/c:1:0", '"pdf:a/b/rule/c:1:0"'],
    ['a "quoted" \\back', '"a \\"quoted\\" \\\\back"'],
    ["it's", '"it\\\'s"'],
    ["", '""'],
  ])("prints %j as %s, the way iptables-save does", (value, printed) => {
    expect(saveString(value)).toBe(printed);
  });
});

describe("tokenize", () => {
  it("splits words and unquotes strings with escapes", () => {
    const tokens = tokenize('-A X -m comment --comment "a \\"b\\" \\\\c" -j DROP');
    expect(tokens.map((t) => t.text)).toEqual(["-A", "X", "-m", "comment", "--comment", 'a "b" \\c', "-j", "DROP"]);
    expect(tokens[5].quoted).toBe(true);
    expect(tokens[0].quoted).toBe(false);
  });

  it("renders back byte for byte", () => {
    const line = '-A DOCKER-USER ! -s 10.0.0.0/8 -m comment --comment "x \\"y\\"" -m comment --comment plain -j RETURN';
    expect(renderTokens(tokenize(line))).toBe(line);
  });

  it("reports an unterminated quote with its line number", () => {
    expect(() => tokenize('-A X --comment "open', 7)).toThrow(/line 7: unterminated quoted string/);
  });
});
