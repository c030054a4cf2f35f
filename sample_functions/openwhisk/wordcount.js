function main(params) {
  const text = String(params.text || '');
  const words = text.split(/\s+/).filter((word) => word.length > 0);
  return { text: text, words: words.length };
}
